//! Tokens of DynamoDB's expression language, with their byte spans so that
//! syntax errors can quote the source the way DynamoDB does.
//!
//! Lexing never fails: a character that starts no token becomes an
//! [`Tok::Unknown`] token and the parser reports it as the offending token.

/// What a token is. Keywords (`AND`, `SET`, ...) are plain identifiers here;
/// the parser recognises them case-insensitively where they may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: an attribute name, function name or keyword.
    Ident,
    /// `#[A-Za-z0-9_]+`: an expression attribute name.
    Name,
    /// `:[A-Za-z0-9_]+`: an expression attribute value.
    Value,
    /// `[0-9]+`: only legal as a list index.
    Number,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    /// Any other character (one char).
    Unknown,
}

/// One token: its kind and its byte span in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens, skipping whitespace.
pub fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::with_capacity(src.len() / 3 + 1);
    let mut pos = 0;
    while pos < bytes.len() {
        let b = bytes[pos];
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            pos += 1;
            continue;
        }
        let start = pos;
        let word_end = |from: usize| from + bytes[from..].iter().take_while(|&&c| is_word_byte(c)).count();
        let (tok, end) = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => (Tok::Ident, word_end(pos)),
            b'0'..=b'9' => (
                Tok::Number,
                pos + bytes[pos..].iter().take_while(|c| c.is_ascii_digit()).count(),
            ),
            b'#' | b':' => {
                let end = word_end(pos + 1);
                if end == pos + 1 {
                    (Tok::Unknown, pos + 1)
                } else if b == b'#' {
                    (Tok::Name, end)
                } else {
                    (Tok::Value, end)
                }
            }
            b'=' => (Tok::Eq, pos + 1),
            b'<' => match bytes.get(pos + 1) {
                Some(b'>') => (Tok::Ne, pos + 2),
                Some(b'=') => (Tok::Le, pos + 2),
                _ => (Tok::Lt, pos + 1),
            },
            b'>' => match bytes.get(pos + 1) {
                Some(b'=') => (Tok::Ge, pos + 2),
                _ => (Tok::Gt, pos + 1),
            },
            b'(' => (Tok::LParen, pos + 1),
            b')' => (Tok::RParen, pos + 1),
            b'[' => (Tok::LBracket, pos + 1),
            b']' => (Tok::RBracket, pos + 1),
            b',' => (Tok::Comma, pos + 1),
            b'.' => (Tok::Dot, pos + 1),
            b'+' => (Tok::Plus, pos + 1),
            b'-' => (Tok::Minus, pos + 1),
            _ => {
                // One whole character, so spans stay on char boundaries.
                let len = src[pos..].chars().next().map_or(1, char::len_utf8);
                (Tok::Unknown, pos + len)
            }
        };
        tokens.push(Token { tok, start, end });
        pos = end;
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, &str)> {
        tokenize(src).iter().map(|t| (t.tok, &src[t.start..t.end])).collect()
    }

    #[test]
    fn splits_every_token_kind() {
        use Tok::*;
        assert_eq!(
            kinds("a.b[12] <> #n AND :v<=(x)>=y<z>w,+-"),
            vec![
                (Ident, "a"),
                (Dot, "."),
                (Ident, "b"),
                (LBracket, "["),
                (Number, "12"),
                (RBracket, "]"),
                (Ne, "<>"),
                (Name, "#n"),
                (Ident, "AND"),
                (Value, ":v"),
                (Le, "<="),
                (LParen, "("),
                (Ident, "x"),
                (RParen, ")"),
                (Ge, ">="),
                (Ident, "y"),
                (Lt, "<"),
                (Ident, "z"),
                (Gt, ">"),
                (Ident, "w"),
                (Comma, ","),
                (Plus, "+"),
                (Minus, "-"),
            ]
        );
    }

    #[test]
    fn odd_characters_become_unknown_tokens() {
        assert_eq!(
            kinds("ü!# :"),
            vec![
                (Tok::Unknown, "ü"),
                (Tok::Unknown, "!"),
                (Tok::Unknown, "#"),
                (Tok::Unknown, ":")
            ]
        );
        assert_eq!(kinds("1a"), vec![(Tok::Number, "1"), (Tok::Ident, "a")]);
        assert_eq!(kinds("#_x :0"), vec![(Tok::Name, "#_x"), (Tok::Value, ":0")]);
        assert!(kinds(" \t\r\n").is_empty());
    }
}
