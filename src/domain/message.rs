//! What a person is told about something they sent: a stable code and its arguments. The
//! words live in `locales/messages.<lang>.ftl` (Fluent), one message per code in each
//! language; the shell renders them in the reader's language (`crate::messages`). Amounts
//! travel as fen and are written as yuan only when rendered.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub code: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Words or a value quoted back to the sender.
    Text(String),
    /// A number the message may choose a plural form for.
    Count(i64),
    /// An amount of money, in fen.
    Fen(i64),
    /// Words already written in both languages (a control's refusal carried along).
    Both { zh: String, en: String },
}

impl Msg {
    /// A message by its code. Codes are string literals, so that a test can find every one
    /// in the source and check that both languages have it, with the same arguments.
    pub fn new(code: &'static str) -> Msg {
        Msg {
            code,
            args: Vec::new(),
        }
    }

    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Msg {
        self.args.push((name, Arg::Text(value.into())));
        self
    }

    pub fn count(mut self, name: &'static str, n: i64) -> Msg {
        self.args.push((name, Arg::Count(n)));
        self
    }

    pub fn fen(mut self, name: &'static str, fen: i64) -> Msg {
        self.args.push((name, Arg::Fen(fen)));
        self
    }

    pub fn both(mut self, name: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Msg {
        let (zh, en) = (zh.into(), en.into());
        self.args.push((name, Arg::Both { zh, en }));
        self
    }
}
