//! Tokens of DynamoDB's PartiQL: words (keywords and bare names, told apart
//! by the parser), `"quoted names"`, `'strings'`, numbers, `?` and
//! punctuation; `-- line` and `/* block */` comments are skipped. Lexing
//! fails only on a string, quoted name or block comment left open, or a
//! character that starts no token.

use super::error::PartiqlError;

/// One token, with what it holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_$]*`: a keyword or a bare attribute or table name.
    Word(String),
    /// `"name"` (a `""` inside is one quote): a name, never a keyword.
    Quoted(String),
    /// `'text'` (a `''` inside is one quote): a string literal.
    Str(String),
    /// `12`, `-3.5`, `1e10`: the number's text.
    Number(String),
    /// `?`: the next of the request's `Parameters`.
    Param,
    Comma,
    Dot,
    Star,
    Colon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// `<<`, which opens a set.
    LSet,
    /// `>>`, which closes one.
    RSet,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
}

impl Tok {
    /// Whether this is the keyword `word` (keywords are case-insensitive).
    pub fn is_keyword(&self, word: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Splits a statement into tokens, skipping whitespace.
pub fn tokenize(src: &str) -> Result<Vec<Tok>, PartiqlError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len() / 3 + 1);
    let mut pos = 0;
    while pos < chars.len() {
        let c = chars[pos];
        if c.is_whitespace() {
            pos += 1;
            continue;
        }
        if let Some(end) = comment(&chars, pos)? {
            pos = end;
            continue;
        }
        // A statement may end with a semicolon.
        if c == ';' && chars[pos + 1..].iter().all(|c| c.is_whitespace()) {
            break;
        }
        let (tok, next) = match c {
            '\'' => quoted(&chars, pos, '\'').map(|(s, n)| (Tok::Str(s), n))?,
            '"' => quoted(&chars, pos, '"').map(|(s, n)| (Tok::Quoted(s), n))?,
            c if is_word_start(c) => {
                let end = pos + chars[pos..].iter().take_while(|c| is_word_char(**c)).count();
                (Tok::Word(chars[pos..end].iter().collect()), end)
            }
            c if c.is_ascii_digit() => number(&chars, pos),
            '.' if chars.get(pos + 1).is_some_and(char::is_ascii_digit) => number(&chars, pos),
            _ => punctuation(&chars, pos)?,
        };
        tokens.push(tok);
        pos = next;
    }
    Ok(tokens)
}

/// The position after a `-- line` or `/* block */` comment starting at
/// `start`, if one does; a block comment left open is an error with no
/// detail, as DynamoDB gives.
fn comment(chars: &[char], start: usize) -> Result<Option<usize>, PartiqlError> {
    match (chars[start], chars.get(start + 1)) {
        ('-', Some('-')) => {
            let rest = chars[start..].iter().position(|c| *c == '\n');
            Ok(Some(rest.map_or(chars.len(), |n| start + n + 1)))
        }
        ('/', Some('*')) => {
            let body = start + 2;
            let close = chars[body..].windows(2).position(|w| w == ['*', '/']);
            close
                .map(|n| Some(body + n + 2))
                .ok_or_else(|| PartiqlError::syntax(""))
        }
        _ => Ok(None),
    }
}

/// A quoted string or name starting at `start`, and the position after it.
fn quoted(chars: &[char], start: usize, quote: char) -> Result<(String, usize), PartiqlError> {
    let mut text = String::new();
    let mut pos = start + 1;
    loop {
        match chars.get(pos) {
            None => return Err(PartiqlError::syntax("Unexpected end of statement")),
            Some(&c) if c == quote => {
                if chars.get(pos + 1) == Some(&quote) {
                    text.push(quote);
                    pos += 2;
                } else {
                    return Ok((text, pos + 1));
                }
            }
            Some(&c) => {
                text.push(c);
                pos += 1;
            }
        }
    }
}

/// Digits, an optional fraction and an optional exponent.
fn number(chars: &[char], start: usize) -> (Tok, usize) {
    let digits = |from: usize| from + chars[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits(start);
    if chars.get(end) == Some(&'.') {
        end = digits(end + 1);
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(end + 1), Some('+' | '-')));
        let exp_end = digits(end + 1 + sign);
        if exp_end > end + 1 + sign {
            end = exp_end;
        }
    }
    (Tok::Number(chars[start..end].iter().collect()), end)
}

fn punctuation(chars: &[char], pos: usize) -> Result<(Tok, usize), PartiqlError> {
    let next = chars.get(pos + 1).copied();
    let two = |tok| Ok((tok, pos + 2));
    let one = |tok| Ok((tok, pos + 1));
    match (chars[pos], next) {
        ('<', Some('<')) => two(Tok::LSet),
        ('>', Some('>')) => two(Tok::RSet),
        ('<', Some('=')) => two(Tok::Le),
        ('>', Some('=')) => two(Tok::Ge),
        ('<', Some('>')) | ('!', Some('=')) => two(Tok::Ne),
        ('<', _) => one(Tok::Lt),
        ('>', _) => one(Tok::Gt),
        ('=', _) => one(Tok::Eq),
        (',', _) => one(Tok::Comma),
        ('.', _) => one(Tok::Dot),
        ('*', _) => one(Tok::Star),
        (':', _) => one(Tok::Colon),
        ('?', _) => one(Tok::Param),
        ('(', _) => one(Tok::LParen),
        (')', _) => one(Tok::RParen),
        ('[', _) => one(Tok::LBracket),
        (']', _) => one(Tok::RBracket),
        ('{', _) => one(Tok::LBrace),
        ('}', _) => one(Tok::RBrace),
        ('+', _) => one(Tok::Plus),
        ('-', _) => one(Tok::Minus),
        // DynamoDB reads no `#` comment, and says nothing more.
        ('#', _) => Err(PartiqlError::syntax("")),
        _ => Err(PartiqlError::syntax("Unexpected term")),
    }
}
