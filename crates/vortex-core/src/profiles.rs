//! Spring Boot profile expressions: `dev`, `!dev`, `dev & cloud`, `dev | prod`, `(a | b) & !c`, and
//! comma lists meaning "any of".

/// A parsed profile expression, evaluated against the active profiles of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileExpr {
    /// Active when the named profile is active.
    Profile(String),
    /// Active when the inner expression is not.
    Not(Box<ProfileExpr>),
    /// Active when every inner expression is.
    All(Vec<ProfileExpr>),
    /// Active when any inner expression is.
    Any(Vec<ProfileExpr>),
}

impl ProfileExpr {
    /// Parses an expression; a comma-separated list means "any of".
    ///
    /// # Errors
    /// A message describing the problem: empty expression, unbalanced parentheses, or `&` and `|`
    /// mixed without parentheses (which Spring Boot rejects too).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut alternatives = Vec::new();
        for part in text.split(',') {
            let tokens = tokenize(part)?;
            if tokens.is_empty() {
                return Err("empty profile expression".to_owned());
            }
            let mut parser = ExprParser { tokens, pos: 0, depth: 0 };
            let expr = parser.expression()?;
            if parser.pos != parser.tokens.len() {
                return Err(format!("unexpected token in {part:?}"));
            }
            alternatives.push(expr);
        }
        Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Self::Any(alternatives) })
    }

    /// Returns whether the expression holds for the `active` profiles.
    pub fn matches(&self, active: &[String]) -> bool {
        match self {
            Self::Profile(name) => active.iter().any(|p| p == name),
            Self::Not(inner) => !inner.matches(active),
            Self::All(items) => items.iter().all(|e| e.matches(active)),
            Self::Any(items) => items.iter().any(|e| e.matches(active)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Name(String),
    Not,
    And,
    Or,
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut name = String::new();
    let flush = |name: &mut String, tokens: &mut Vec<Token>| {
        if !name.is_empty() {
            tokens.push(Token::Name(std::mem::take(name)));
        }
    };
    for c in text.chars() {
        let token = match c {
            '!' => Some(Token::Not),
            '&' => Some(Token::And),
            '|' => Some(Token::Or),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            c if c.is_whitespace() => None,
            c => {
                name.push(c);
                continue;
            }
        };
        flush(&mut name, &mut tokens);
        tokens.extend(token);
    }
    flush(&mut name, &mut tokens);
    Ok(tokens)
}

/// Deepest nesting of `!` and parentheses accepted. The parser, evaluation and `Drop` all recurse
/// once per level, and the expression comes from a repository file.
const MAX_DEPTH: usize = 32;

struct ExprParser {
    tokens: Vec<Token>,
    pos: usize,
    /// `!` and `(` open around the current position.
    depth: usize,
}

impl ExprParser {
    fn expression(&mut self) -> Result<ProfileExpr, String> {
        let first = self.unary()?;
        let mut operands = vec![first];
        let mut operator: Option<Token> = None;
        while let Some(token @ (Token::And | Token::Or)) = self.tokens.get(self.pos).cloned() {
            if operator.as_ref().is_some_and(|op| *op != token) {
                return Err("malformed profile expression: mixed '&' and '|' without parentheses".to_owned());
            }
            operator = Some(token);
            self.pos += 1;
            operands.push(self.unary()?);
        }
        Ok(match operator {
            None => operands.remove(0),
            Some(Token::And) => ProfileExpr::All(operands),
            Some(_) => ProfileExpr::Any(operands),
        })
    }

    fn unary(&mut self) -> Result<ProfileExpr, String> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        let nests = matches!(token, Some(Token::Not | Token::Open));
        if !nests {
            return self.unary_inner(token);
        }
        if self.depth >= MAX_DEPTH {
            return Err(format!("malformed profile expression: nests deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        let expr = self.unary_inner(token);
        self.depth -= 1;
        expr
    }

    fn unary_inner(&mut self, token: Option<Token>) -> Result<ProfileExpr, String> {
        match token {
            Some(Token::Not) => Ok(ProfileExpr::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = self.expression()?;
                if self.tokens.get(self.pos) != Some(&Token::Close) {
                    return Err("malformed profile expression: missing ')'".to_owned());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Name(name)) => Ok(ProfileExpr::Profile(name)),
            _ => Err("malformed profile expression".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests;
