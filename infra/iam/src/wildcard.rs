//! IAM wildcard matching: `*` matches any run of characters (none included, `/` and `:`
//! included), `?` matches exactly one character, everything else matches itself.
//!
//! IAM documents `*` as able to cross `:` only at the end of an ARN segment
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>);
//! here every `*` may, which differs only for patterns such as `arn:aws:sqs:*x:…`.

/// Whether `text` matches `pattern`, case-sensitively.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Position after the last `*` seen, and the text position that `*` has consumed up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some('*') => {
                p += 1;
                backtrack = Some((p, t));
            }
            Some(&q) if q == '?' || q == c => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((after_star, consumed)) => {
                    p = after_star;
                    t = consumed + 1;
                    backtrack = Some((after_star, t));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/T";
    const INDEX: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/T/index/ByDue";

    #[test]
    fn table() {
        let index_pattern = format!("{TABLE}/index/*");
        let cases: &[(&str, &str, bool)] = &[
            (TABLE, TABLE, true),
            (TABLE, INDEX, false),
            (INDEX, TABLE, false),
            (&index_pattern, INDEX, true),
            (&index_pattern, TABLE, false),
            ("*", INDEX, true),
            // `*` crosses `/` and `:`.
            ("arn:aws:dynamodb:*", INDEX, true),
            ("arn:aws:dynamodb:*:*:table/T", TABLE, true),
            ("arn:aws:dynamodb:*:*:table/T", INDEX, false),
            ("arn:*:table/T/*", INDEX, true),
            // `?` is exactly one character.
            ("table/T?", "table/T1", true),
            ("table/T?", "table/T", false),
            ("table/T?", "table/T12", false),
            ("table?T", "table/T", true),
            // Backtracking over several stars.
            ("a*b*c", "aXbYbZc", true),
            ("a*b", "aXbY", false),
            ("a**", "a", true),
            ("", "", true),
            ("", "x", false),
            // Case-sensitive (callers lower-case action names themselves).
            ("table/t", "table/T", false),
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), expected, "{pattern:?} vs {text:?}");
        }
    }
}
