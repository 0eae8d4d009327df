//! A fuzz target: the files of one input of a format (written into a case folder), which of
//! them are mutated, the reader to call on the folder, and what its errors must say. Checks
//! one input: a panic, or an error that names no file of the input (or whose line/row mention
//! carries no number), is a finding.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// What an error must say about where the bad record is.
#[derive(Debug, Clone, Copy)]
pub enum Position {
    /// Nothing beyond the file.
    File,
    /// Always `<file name>:<line>` (JSON Lines).
    FileLine,
    /// When the message mentions this word (`line`, `row`), some mention is followed by a
    /// number.
    NumberedWhenMentioned(&'static str),
}

/// Calls the reader on a case folder whose file `mutated` holds the input; the error's
/// `Display` on failure.
pub type ReadCase = fn(&Path, &str) -> Result<(), String>;

pub struct Target {
    pub format: &'static str,
    /// Every file of one good input, by name inside the case folder.
    pub files: Vec<(String, Vec<u8>)>,
    /// Names (among `files`) that are mutated, one per input.
    pub mutable: Vec<String>,
    pub position: Position,
    /// Whether an error may name the case folder instead of a file (readers of a folder whose
    /// manifest names the other files: a missing file is named by the path it was looked for).
    pub names_folder: bool,
    pub read: ReadCase,
}

/// What one input did.
#[derive(Debug)]
pub enum Verdict {
    Read,
    Error,
    /// A panic or a badly worded error, with what was wrong.
    Finding(String),
}

impl Target {
    /// Writes the good files into `dir`.
    pub fn write_case(&self, dir: &Path) {
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("case folder");
            }
            std::fs::write(&path, bytes).expect("case file");
        }
    }

    pub fn original(&self, name: &str) -> &[u8] {
        &self
            .files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{}: no file {name}", self.format))
            .1
    }

    /// Runs the reader on `dir` (whose `mutated` file holds the input) and judges the result.
    pub fn judge(&self, dir: &Path, mutated: &str) -> Verdict {
        match catch_unwind(AssertUnwindSafe(|| (self.read)(dir, mutated))) {
            Ok(Ok(())) => Verdict::Read,
            Ok(Err(message)) => match self.error_problem(&message, dir, mutated) {
                None => Verdict::Error,
                Some(problem) => Verdict::Finding(format!("{problem}: {message}")),
            },
            Err(payload) => Verdict::Finding(format!("panic: {}", panic_message(&*payload))),
        }
    }

    /// Why `message` is not a good error for an input whose `mutated` file was damaged.
    fn error_problem(&self, message: &str, dir: &Path, mutated: &str) -> Option<String> {
        let mut names = self.files.iter().map(|(name, _)| base_name(name));
        let folder_named = self.names_folder && message.contains(&*dir.to_string_lossy());
        if !folder_named && !names.any(|name| message.contains(name)) {
            return Some(format!("error names no file of the input ({mutated})"));
        }
        match self.position {
            Position::File => None,
            Position::FileLine => {
                let name = base_name(mutated);
                (!has_number_after(message, &format!("{name}:")))
                    .then(|| format!("error does not give `{name}:<line>`"))
            }
            Position::NumberedWhenMentioned(word) => (mentions_word(message, word)
                && !has_number_after(message, &format!("{word} ")))
            .then(|| format!("error mentions a {word} without its number")),
        }
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Whether some occurrence of `prefix` in `text` is followed by a digit.
fn has_number_after(text: &str, prefix: &str) -> bool {
    text.match_indices(prefix).any(|(at, _)| {
        text[at + prefix.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// Whether `word` occurs as a whole word (`row` in `row 3`, not in `rows` or `arrow`).
fn mentions_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let word_char = |c: char| c.is_alphanumeric() || c == '_';
        !before.is_some_and(word_char) && !after.is_some_and(word_char)
    })
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

#[test]
fn errors_are_judged_by_file_name_and_position() {
    let target = Target {
        format: "test",
        files: vec![("docs.jsonl".into(), Vec::new())],
        mutable: vec!["docs.jsonl".into()],
        position: Position::FileLine,
        names_folder: false,
        read: |_, _| Ok(()),
    };
    assert!(
        target
            .error_problem("/t/docs.jsonl:3: bad", Path::new("/t"), "docs.jsonl")
            .is_none()
    );
    assert!(
        target
            .error_problem("/t/docs.jsonl: bad", Path::new("/t"), "docs.jsonl")
            .is_some()
    );
    assert!(
        target
            .error_problem("bad line 3", Path::new("/t"), "docs.jsonl")
            .is_some()
    );
    let rows = Target {
        position: Position::NumberedWhenMentioned("row"),
        ..target
    };
    assert!(
        rows.error_problem("docs.jsonl: rows are runs", Path::new("/t"), "docs.jsonl")
            .is_none()
    );
    assert!(
        rows.error_problem("docs.jsonl: row 4 is empty", Path::new("/t"), "docs.jsonl")
            .is_none()
    );
    assert!(
        rows.error_problem("docs.jsonl: bad row", Path::new("/t"), "docs.jsonl")
            .is_some()
    );
}
