//! Errors for configuration files that admins edit (workflows, policies): each names the
//! file, line and column, what is wrong and how to fix it.
use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

/// Collects errors against one source text.
pub struct FileChecker<'a> {
    pub file: &'a str,
    pub source: &'a str,
    pub errors: Vec<CheckError>,
}

impl<'a> FileChecker<'a> {
    pub fn new(file: &'a str, source: &'a str) -> Self {
        FileChecker {
            file,
            source,
            errors: Vec::new(),
        }
    }

    pub fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let (line, column) = line_col(self.source, span.start);
        self.errors.push(CheckError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
        });
    }

    /// Parses TOML into `T`, recording a located error on failure.
    pub fn parse<T: serde::de::DeserializeOwned>(&mut self, hint: &str) -> Option<T> {
        match toml::from_str(self.source) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(
                    e.span().unwrap_or(0..0),
                    e.message().trim().to_string(),
                    hint,
                );
                None
            }
        }
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<CheckError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}
