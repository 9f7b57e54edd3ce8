//! Which AWS calls each function made: one [`CallRecorder`] per function, attached to that
//! function's own clients, for the IAM check ([`crate::iam`]).
//!
//! A process that is killed (the crash suite SIGKILLs the `local` child) hands its calls over
//! through a file: with `IAM_CALLS_FILE` set, every call a function makes for the first time
//! is appended to it at once, as one JSON line `{"function": …, "service": …, "operation": …,
//! "resources": […]}`, before the request is sent. Several processes may append to one file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lifecycle_adapters::aws::{CallRecorder, RecordedCall};
use serde::{Deserialize, Serialize};

/// The variable naming the file the calls are appended to.
pub const IAM_CALLS_FILE_VARIABLE: &str = "IAM_CALLS_FILE";

/// Calls by function logical id.
pub type CallsByFunction = BTreeMap<String, BTreeSet<RecordedCall>>;

/// One line of the calls file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FunctionCall {
    function: String,
    #[serde(flatten)]
    call: RecordedCall,
}

/// The recorders of the functions of one run; clones share them.
#[derive(Debug, Clone, Default)]
pub struct FunctionCalls {
    recorders: Arc<Mutex<BTreeMap<String, CallRecorder>>>,
    file: Option<Arc<Mutex<File>>>,
}

impl FunctionCalls {
    /// Recorders kept in memory only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Recorders that also append each newly seen call to the file at `path`.
    pub fn appending_to(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                format!(
                    "{IAM_CALLS_FILE_VARIABLE}: cannot open {}: {e}",
                    path.display()
                )
            })?;
        Ok(Self {
            recorders: Arc::default(),
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    /// [`FunctionCalls::appending_to`] the file `IAM_CALLS_FILE` names, else in memory only.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(IAM_CALLS_FILE_VARIABLE) {
            Ok(path) if !path.trim().is_empty() => Self::appending_to(Path::new(&path)),
            _ => Ok(Self::new()),
        }
    }

    /// The recorder of `function` (a logical id of template.yaml), created on first use.
    pub fn recorder(&self, function: &str) -> CallRecorder {
        let mut recorders = self.recorders.lock().expect("recorders lock");
        recorders
            .entry(function.to_owned())
            .or_insert_with(|| {
                let recorder = CallRecorder::new();
                match &self.file {
                    Some(file) => {
                        recorder.on_first_sight(appender(function.to_owned(), file.clone()))
                    }
                    None => recorder,
                }
            })
            .clone()
    }

    /// The distinct calls of every function so far.
    pub fn snapshot(&self) -> CallsByFunction {
        self.recorders
            .lock()
            .expect("recorders lock")
            .iter()
            .map(|(function, recorder)| (function.clone(), recorder.calls()))
            .collect()
    }
}

/// Appends each call of `function` to `file` as one line, in one write.
fn appender(function: String, file: Arc<Mutex<File>>) -> impl Fn(&RecordedCall) + Send + Sync {
    move |call| {
        let line = FunctionCall {
            function: function.clone(),
            call: call.clone(),
        };
        let mut text = serde_json::to_string(&line).expect("a call serializes");
        text.push('\n');
        if let Err(error) = file
            .lock()
            .expect("calls file lock")
            .write_all(text.as_bytes())
        {
            // The IAM check would then miss this call: fail loudly in its log.
            tracing::error!(error = %error, "{IAM_CALLS_FILE_VARIABLE}: a call could not be recorded");
        }
    }
}

/// The calls appended to `path`, by function. A last line cut short (the writer was killed
/// mid-write) is left out; any other unreadable line is an error.
pub fn read_calls_file(path: &Path) -> Result<CallsByFunction, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let mut calls = CallsByFunction::new();
    for (number, line) in complete.lines().enumerate() {
        let FunctionCall { function, call } = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", path.display(), number + 1))?;
        calls.entry(function).or_default().insert(call);
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_appended_at_first_sight_are_read_back_by_function() {
        let path = std::env::temp_dir().join(format!(
            "iam-calls-{}-{}.jsonl",
            std::process::id(),
            lifecycle_domain::Timestamp::now().millis()
        ));
        let _ = std::fs::remove_file(&path);
        let calls = FunctionCalls::appending_to(&path).unwrap();
        let executor = calls.recorder("TimerExecutorFunction");
        for _ in 0..3 {
            executor.record("DynamoDB", "GetItem", Some(br#"{"TableName":"T"}"#));
            calls.recorder("SweeperFunction").record(
                "SQS",
                "SendMessage",
                Some(br#"{"QueueUrl":"http://h/1/q"}"#),
            );
        }
        // A second process appends to the same file; its last write was cut short.
        let again = FunctionCalls::appending_to(&path).unwrap();
        again.recorder("TimerExecutorFunction").record(
            "DynamoDB",
            "GetItem",
            Some(br#"{"TableName":"T"}"#),
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(br#"{"function":"Sweep"#)
            .unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        let read = read_calls_file(&path).unwrap();
        assert_eq!(read, calls.snapshot());
        assert_eq!(read["TimerExecutorFunction"].len(), 1);
        std::fs::remove_file(&path).unwrap();
        assert!(read_calls_file(&path).unwrap().is_empty());
    }
}
