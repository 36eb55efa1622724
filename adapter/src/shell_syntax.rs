//! Two text forms a launch configuration may use, parsed without a shell: a command line given
//! as one string (`"args": "a 'b c'"`) and a `.env` file (`envFile`).

/// Splits a command line into words as a POSIX shell does, without expanding anything: single
/// quotes keep everything, double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``, and a
/// backslash outside quotes keeps the next character.
pub fn split_shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Reads a `.env` file: `NAME=value` lines, `#` comments, an optional `export `, values in single
/// quotes (literal) or double quotes (`\n`, `\"`, `\\` escapes), and `${NAME}` expanded in the
/// others from earlier lines or `lookup`.
pub fn parse_env_file(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let (name, raw) = line.split_once('=').ok_or(format!("line {}: expected NAME=value", number + 1))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("line {}: {name:?} is not a variable name", number + 1));
        }
        let raw = raw.trim();
        let known = |n: &str| out.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone()).or_else(|| lookup(n));
        let value = if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            inner.to_owned()
        } else if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).filter(|_| raw.len() >= 2) {
            expand(&unescape_double_quoted(inner), &known)
        } else {
            // An unquoted value ends at a comment that follows white space.
            let value = raw.find(" #").map_or(raw, |at| raw[..at].trim_end());
            expand(value, &known)
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

fn unescape_double_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some(next @ ('"' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Replaces `${NAME}` with the variable's value (empty when unset).
fn expand(text: &str, known: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else { break };
        out.push_str(&rest[..start]);
        out.push_str(&known(&rest[start + 2..start + 2 + len]).unwrap_or_default());
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(split_shell_words(r#"a  'b c' "d \"e\"" f\ g """#).unwrap(), ["a", "b c", "d \"e\"", "f g", ""]);
        assert_eq!(split_shell_words(r#""a\nb" 'x\y'"#).unwrap(), ["a\\nb", "x\\y"]);
        assert!(split_shell_words("'open").is_err());
        assert!(split_shell_words("\"open").is_err());
        assert!(split_shell_words("   ").unwrap().is_empty());
    }

    #[test]
    fn env_file_forms() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\nC='${A} lit'\nD=\"x${A}\\n\\\"q\\\"\"\nE=${HOME}/x${NOPE}\n";
        let got = parse_env_file(text, &|n| (n == "HOME").then(|| "/h".to_owned())).unwrap();
        let want = [("A", "1"), ("B", "two words"), ("C", "${A} lit"), ("D", "x1\n\"q\""), ("E", "/h/x")];
        assert_eq!(got, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert!(parse_env_file("JUSTTEXT\n", &|_| None).unwrap_err().contains("line 1"));
    }
}
