//! What an entry's message may show: the recovery log is read through the API, so ARNs
//! (account ids, resource names) and URLs (webhook tokens in paths and queries) are replaced
//! by placeholders, control characters by spaces, and the text is cut to [`MAX_MESSAGE`]
//! characters.

/// Characters kept of a message.
pub const MAX_MESSAGE: usize = 500;

/// `message` without ARNs, URLs or control characters, at most [`MAX_MESSAGE`] characters.
pub fn sanitize_message(message: &str) -> String {
    let words: Vec<String> = message
        .split(' ')
        .map(|word| sanitize_word(&word.replace(char::is_control, " ")))
        .collect();
    let text = words.join(" ");
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn sanitize_word(word: &str) -> String {
    if let Some(start) = word.find("arn:aws") {
        return format!(
            "{}<arn>{}",
            &word[..start],
            trailing_punctuation(&word[start..])
        );
    }
    if let Some(scheme) = word.find("://") {
        let start = word[..scheme]
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |i| i + 1);
        return format!(
            "{}<url>{}",
            &word[..start],
            trailing_punctuation(&word[scheme..])
        );
    }
    word.to_owned()
}

/// The closing punctuation a replaced token ended with (`)`, `,`, `.`), kept for reading.
fn trailing_punctuation(token: &str) -> &str {
    let kept = token.trim_end_matches([')', ',', ';', '.', ']']);
    &token[kept.len()..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_arns_and_urls_and_keeps_the_rest() {
        let message = "PutEvents on arn:aws:events:eu-west-1:123456789012:event-bus/b failed (see https://hooks.slack.com/services/T0/B0/secret?x=1), retry";
        assert_eq!(
            sanitize_message(message),
            "PutEvents on <arn> failed (see <url>), retry"
        );
        assert_eq!(sanitize_message("(arn:aws:sqs:x:1:q)."), "(<arn>).");
        assert_eq!(sanitize_message("[hook:https://x/y?t=1]"), "[hook:<url>]");
        assert_eq!(
            sanitize_message("timer c1:START FAILED"),
            "timer c1:START FAILED"
        );
    }

    #[test]
    fn replaces_control_characters_and_cuts_long_messages() {
        assert_eq!(sanitize_message("a\nb\tc"), "a b c");
        let long = "é".repeat(MAX_MESSAGE + 10);
        let cut = sanitize_message(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE + 1);
        assert!(cut.ends_with('…'));
        let exact = "x".repeat(MAX_MESSAGE);
        assert_eq!(sanitize_message(&exact), exact);
    }
}
