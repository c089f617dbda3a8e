//! The domain's own costs, at 10, 100 and 1,000 properties: parsing YAML and `.properties` files,
//! and rendering an environment in each wire form (Environment JSON and the flat `.properties`,
//! `.yml` and `.json`), as a cache miss makes them: entity tag and the exact-size copy included.
//! Also building a query from the three path parts, decrypting `{cipher}` values, and the native
//! backend's change check (the fingerprint of its search locations) at 100, 1,000 and 10,000 files.
//!
//! `cargo bench -p vortex-core --bench core`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vortex_core::cipher::{CIPHER_PREFIX, DEFAULT_SALT, InvalidCipher, TextEncryptor, decrypt_environment};
use vortex_core::document::{Document, parse_properties, parse_yaml};
use vortex_core::render::FlatFormat;
use vortex_core::snapshot::{Representation, Snapshot};
use vortex_core::{ConfigQuery, Environment, PropertySource, Value};

const SIZES: [usize; 3] = [10, 100, 1_000];

/// A YAML file of `n` properties in sections of ten, with the mix of a real service file: strings,
/// numbers, booleans, a placeholder, and a list every section.
fn yaml(n: usize) -> String {
    let mut text = String::new();
    for section in 0..n.div_ceil(10) {
        let _ = writeln!(text, "section{section}:");
        let keys = (n - section * 10).min(10);
        for i in 0..keys {
            let value = match i {
                0 => "8080".to_owned(),
                1 => "true".to_owned(),
                2 => "${section0.key3:fallback}".to_owned(),
                3 => format!("jdbc:postgresql://db-{section}.internal:5432/orders"),
                _ => format!("value of key {i} in section {section}"),
            };
            if i == 9 {
                let _ = writeln!(text, "  key{i}:\n    - first\n    - second");
            } else {
                let _ = writeln!(text, "  key{i}: {value}");
            }
        }
    }
    text
}

/// The same `n` properties as a `.properties` file.
fn properties(n: usize) -> String {
    let documents = parse_yaml(&yaml(n), "bench.yml").unwrap();
    let mut text = String::new();
    for (key, property) in documents[0].properties.iter() {
        let _ = writeln!(text, "{key}={}", property.value);
    }
    text
}

/// An environment of an application file with `n` properties over a shared `application.yml`
/// that overrides a few of them, as `/orders/prod` would load.
fn environment(n: usize) -> Environment {
    let source = |name: &str, documents: Vec<Document>| {
        let document = documents.into_iter().next().unwrap();
        PropertySource::new(name, (*document.properties).clone())
    };
    let application = parse_yaml("section0:\n  key0: 9090\nshared:\n  timeout: 30s\n", "application.yml").unwrap();
    Environment {
        name: "orders".to_owned(),
        profiles: vec!["prod".to_owned()],
        label: Some("main".to_owned()),
        version: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        state: None,
        property_sources: vec![
            source("file:repo/orders.yml", parse_yaml(&yaml(n), "orders.yml").unwrap()),
            source("file:repo/application.yml", application),
        ],
    }
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for n in SIZES {
        let (yaml, properties) = (yaml(n), properties(n));
        group.throughput(Throughput::Bytes(yaml.len() as u64));
        group.bench_with_input(BenchmarkId::new("yaml", n), &yaml, |b, text| {
            b.iter(|| parse_yaml(black_box(text), "orders.yml").unwrap());
        });
        group.throughput(Throughput::Bytes(properties.len() as u64));
        group.bench_with_input(BenchmarkId::new("properties", n), &properties, |b, text| {
            b.iter(|| parse_properties(black_box(text), "orders.properties").unwrap());
        });
    }
    group.finish();
}

fn serialisation(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    let forms = [
        ("environment_json", Representation::Environment { origins: false, label_in_request: true }),
        ("properties", Representation::Flat { format: FlatFormat::Properties, resolve_placeholders: true }),
        ("yml", Representation::Flat { format: FlatFormat::Yaml, resolve_placeholders: true }),
        ("json", Representation::Flat { format: FlatFormat::Json, resolve_placeholders: true }),
    ];
    for n in SIZES {
        let env = environment(n);
        for (name, representation) in forms {
            let bytes = Snapshot::new(env.clone()).render(representation).unwrap().body().len();
            group.throughput(Throughput::Bytes(bytes as u64));
            // A fresh snapshot per iteration: a snapshot keeps what it renders. The clone (names
            // and `Arc`s, not the property maps) is made outside the timing.
            group.bench_with_input(BenchmarkId::new(name, n), &env, |b, env| {
                b.iter_batched(
                    || Snapshot::new(env.clone()),
                    |snapshot| black_box(snapshot.render(representation).unwrap().body().len()),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

fn query(c: &mut Criterion) {
    c.bench_function("query/parse", |b| {
        b.iter(|| ConfigQuery::parse(black_box("orders"), black_box("prod,cloud"), black_box(Some("main"))).unwrap());
    });
}

/// The cost `{cipher}` values add to a load: one value decrypted, and an environment with ten of
/// them among `n` properties (a copy of the one source that holds them; the other stays shared).
fn cipher(c: &mut Criterion) {
    let encryptor = TextEncryptor::new("benchmark-key", DEFAULT_SALT).unwrap();
    let hex = encryptor.encrypt("jdbc-password-0123456789").unwrap();
    c.bench_function("cipher/decrypt_value", |b| b.iter(|| encryptor.decrypt(black_box(&hex)).unwrap()));
    c.bench_function("cipher/key_derivation", |b| {
        b.iter(|| TextEncryptor::new(black_box("benchmark-key"), DEFAULT_SALT).unwrap());
    });
    let mut group = c.benchmark_group("cipher/decrypt_environment");
    for n in SIZES {
        let mut env = environment(n);
        let mut source = (*env.property_sources[0].source).clone();
        for (_, property) in source.iter_mut().take(10) {
            property.value = Value::String(format!("{CIPHER_PREFIX}{hex}"));
        }
        env.property_sources[0].source = std::sync::Arc::new(source);
        group.bench_with_input(BenchmarkId::from_parameter(n), &env, |b, env| {
            b.iter_batched(
                || env.clone(),
                |mut env| black_box(decrypt_environment(&mut env, &encryptor, InvalidCipher::Prefix)),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// One poll of the native backend's change check: a repository of `n` files, a tenth of them in
/// label directories, as `{application}.yml` and `{application}-{profile}.yml` files are laid out.
fn fingerprint(c: &mut Criterion) {
    use vortex_core::native::{NativeOptions, NativeSource};
    let mut group = c.benchmark_group("native/fingerprint");
    for n in [100, 1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..n {
            let path = match i % 10 {
                0 => dir.path().join(format!("v{}/svc-{i}.yml", i % 7)),
                1 => dir.path().join(format!("svc-{i}-prod.yml")),
                _ => dir.path().join(format!("svc-{i}.yml")),
            };
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("service:\n  id: {i}\n")).unwrap();
        }
        let options =
            NativeOptions { search_locations: vec![dir.path().display().to_string()], ..NativeOptions::default() };
        let source = NativeSource::new(options).unwrap();
        group.throughput(Throughput::Elements(n));
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| black_box(source.fingerprint_blocking())));
    }
    group.finish();
}

criterion_group!(benches, parsing, serialisation, query, cipher, fingerprint);
criterion_main!(benches);
