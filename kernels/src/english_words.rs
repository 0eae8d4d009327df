//! English word splitting as datatrove's quality filters see it: datatrove splits English
//! with spaCy's blank English tokenizer and drops whitespace tokens. That tokenizer splits on
//! whitespace, then peels prefixes (opening brackets and quotes, currency, `#`, `*`, `&`, `_`,
//! symbols, ellipses) and suffixes (closing punctuation, `'s`, `n't`, other contractions, a
//! period after a lower-case letter or digit or two capitals, units after numbers) off each
//! chunk, keeps special cases whole (abbreviations such as `Mr.` and `e.g.`, emoticons, URLs,
//! e-mail addresses) and splits the rest at infixes (hyphens and `:<>=/` between letters, `,`
//! between letters, `.` between a lower-case and an upper-case letter, arithmetic between
//! digits, ellipses). This is blend's own re-implementation of those rules, checked token by
//! token against spaCy on the shared corpora (`bench/quality`); a few of spaCy's hundreds of
//! special cases are not reproduced.

/// Opening or closing punctuation that spaCy peels off either end of a chunk, one character
/// at a time.
fn is_edge_punct(c: char) -> bool {
    matches!(
        c,
        ',' | ':'
            | ';'
            | '!'
            | '?'
            | '¿'
            | '؟'
            | '¡'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '_'
            | '#'
            | '*'
            | '&'
            | '。'
            | '？'
            | '！'
            | '，'
            | '、'
            | '；'
            | '：'
            | '～'
            | '·'
            | '।'
            | '،'
            | '۔'
            | '؛'
            | '٪'
    ) || is_quote(c)
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '`'
            | '´'
            | '‘'
            | '’'
            | '‚'
            | '„'
            | '»'
            | '«'
            | '“'
            | '”'
            | '「'
            | '」'
            | '『'
            | '』'
            | '（'
            | '）'
            | '〔'
            | '〕'
            | '【'
            | '】'
            | '《'
            | '》'
            | '〈'
            | '〉'
            | '⟦'
            | '⟧'
    )
}

fn is_currency(c: char) -> bool {
    matches!(
        c,
        '$' | '£' | '€' | '¥' | '₹' | '₽' | '¢' | '₩' | '฿' | '₺' | '₴' | '₦' | '₱'
    )
}

/// "Other symbols" (emoji, ©, ™, °): spaCy splits them off both ends.
fn is_symbol(c: char) -> bool {
    let code = u32::from(c);
    matches!(c, '©' | '®' | '™' | '°' | '¶' | '§')
        || (0x2190..=0x21FF).contains(&code)
        || (0x2300..=0x23FF).contains(&code)
        || (0x2500..=0x27BF).contains(&code)
        || (0x2B00..=0x2BFF).contains(&code)
        || (0x1F000..=0x1FAFF).contains(&code)
}

/// Units spaCy splits from a number before them (`10km` → `10`, `km`); case-sensitive.
const UNITS: &[&str] = &[
    "km", "km²", "km³", "m", "m²", "m³", "dm", "dm²", "dm³", "cm", "cm²", "cm³", "mm", "mm²",
    "mm³", "ha", "µm", "nm", "yd", "in", "ft", "kg", "g", "mg", "µg", "t", "lb", "oz", "m/s",
    "km/h", "kmh", "mph", "hPa", "Pa", "mbar", "mb", "MB", "kb", "KB", "gb", "GB", "tb", "TB", "T",
    "G", "M", "K", "am", "pm", "a.m.", "p.m.",
];

/// Abbreviations that keep their period.
const ABBREVIATIONS: &[&str] = &[
    "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "St.", "Jr.", "vs.", "Inc.", "Ltd.", "Co.", "Corp.",
    "Gen.", "Gov.", "Sen.", "Rep.", "Rev.", "Mt.", "Jan.", "Feb.", "Mar.", "Apr.", "Jun.", "Jul.",
    "Aug.", "Sep.", "Sept.", "Oct.", "Nov.", "Dec.", "Ala.", "Ariz.", "Ark.", "Calif.", "Colo.",
    "Conn.", "Del.", "Fla.", "Ga.", "Ill.", "Ind.", "Kan.", "Ky.", "La.", "Md.", "Mass.", "Mich.",
    "Minn.", "Miss.", "Mo.", "Mont.", "Neb.", "Nev.", "Okla.", "Ore.", "Pa.", "Tenn.", "Va.",
    "Wash.", "Wis.", "Bros.", "Messrs.", "Adm.",
];

/// Chunks spaCy splits its own way.
const SPECIAL: &[(&str, &[&str])] = &[
    ("and/or", &["and/or"]),
    ("cannot", &["can", "not"]),
    ("Cannot", &["Can", "not"]),
    ("gonna", &["gon", "na"]),
    ("Gonna", &["Gon", "na"]),
    ("gotta", &["got", "ta"]),
    ("Gotta", &["Got", "ta"]),
    ("y'all", &["y'", "all"]),
    ("ma'am", &["ma'am"]),
    ("Ma'am", &["Ma'am"]),
    ("o'clock", &["o'clock"]),
];

/// Contractions without their apostrophe that spaCy still splits: (stem, ending); the
/// capitalized stem splits too (`Dont` → `Do`, `nt`), the upper-case word does not.
const BARE_CONTRACTIONS: &[(&str, &str)] = &[
    ("do", "nt"),
    ("ca", "nt"),
    ("wo", "nt"),
    ("is", "nt"),
    ("does", "nt"),
    ("did", "nt"),
    ("was", "nt"),
    ("were", "nt"),
    ("have", "nt"),
    ("has", "nt"),
    ("had", "nt"),
    ("could", "nt"),
    ("would", "nt"),
    ("should", "nt"),
    ("are", "nt"),
    ("ai", "nt"),
    ("i", "m"),
    ("i", "ve"),
    ("i", "d"),
    ("you", "re"),
    ("they", "re"),
    ("he", "s"),
    ("she", "s"),
    ("that", "s"),
    ("what", "s"),
    ("there", "s"),
    ("you", "ve"),
    ("you", "ll"),
    ("they", "ll"),
];

/// Chunks that are a contraction on their own (pre-tokenized text: `I 'd`) stay whole.
const BARE_ENDINGS: &[&str] = &[
    "'s", "'S", "’s", "’S", "n't", "n’t", "N'T", "'d", "'ll", "'re", "’d", "’ll", "’re", "'em",
    "'cause", "'nuff", "ol'",
];

const EMOTICONS: &[&str] = &[
    ":)", ":-)", ":))", ":-))", "(:", "(-:", "=)", "(=", ":]", ":-]", "[:", "[-:", "[=", "=]",
    ":o)", "(o:", ":}", ":-}", "8)", "8-)", "(-8", ";)", ";-)", "(;", "(-;", ":(", ":-(", ":((",
    "):", ")-:", "=(", ">:(", ":')", ":'(", ":/", ":-/", "=/", "=|", ":|", ":-|", "]=", "=[", ":P",
    ":-P", ":p", ":-p", ":O", ":-O", ":o", ":-o", ":0", ":-0", ":()", ">:o", ":*", ":-*", ":3",
    ":-3", "=3", ":>", ":->", ":X", ":-X", ":x", ":-x", ":D", ":-D", ";D", ";-D", "=D", "xD", "XD",
    "8D", "8-D", "^_^", "^__^", ">.<", ">.>", "<.<", "._.", ";_;", "-_-", "v.v", "V.V", "o_o",
    "O_O", "o.O", "O.o", "O.O", "o.o", "0.0", "@_@", "<3", "<33", "</3", "(^_^)", "(-_-)", "(._.)",
    "(>_<)", "(*_*)",
];

/// Contractions spaCy splits off a word (`they're` → `they`, `'re`).
const CONTRACTIONS: &[&str] = &[
    "'re", "'ve", "'ll", "'m", "'d", "’re", "’ve", "’ll", "’m", "’d",
];

fn is_abbreviation(chunk: &str) -> bool {
    if !chunk.ends_with('.') {
        return false;
    }
    if ABBREVIATIONS.contains(&chunk) {
        return true;
    }
    // e.g. i.e. U.S. U.S.A. a.m. Ph.D.: letters and periods, two or more periods, ends in one.
    let periods = chunk.matches('.').count();
    if periods >= 2
        && chunk.ends_with('.')
        && !chunk.contains("..")
        && chunk.chars().all(|c| c == '.' || c.is_alphabetic())
        && !chunk.starts_with('.')
    {
        return true;
    }
    // A single letter and a period ("x.", "I.").
    let mut chars = chunk.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_alphabetic())
}

fn is_url(chunk: &str) -> bool {
    if let Some(scheme_end) = chunk.find("://") {
        return scheme_end > 0
            && chunk[..scheme_end].chars().all(|c| c.is_ascii_alphabetic())
            && chunk.len() > scheme_end + 3;
    }
    if chunk.len() > 4 && chunk.as_bytes()[..4].eq_ignore_ascii_case(b"www.") {
        return true;
    }
    // e-mail addresses
    if let Some((user, domain)) = chunk.split_once('@') {
        return !user.is_empty()
            && domain.contains('.')
            && !domain.ends_with('.')
            && user
                .chars()
                .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || ".-".contains(c));
    }
    false
}

/// The parts of a chunk spaCy splits as a special case, as byte lengths.
fn special(chunk: &str) -> Option<Vec<usize>> {
    if let Some((_, parts)) = SPECIAL.iter().find(|(s, _)| *s == chunk) {
        return Some(parts.iter().map(|p| p.len()).collect());
    }
    // The longest bare contraction is "shouldnt".
    if chunk.len() > 8 || !chunk.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let lower_first: String = {
        let mut chars = chunk.chars();
        chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default()
    };
    BARE_CONTRACTIONS
        .iter()
        .find(|(stem, ending)| {
            lower_first.len() == stem.len() + ending.len()
                && lower_first.starts_with(stem)
                && lower_first.ends_with(ending)
        })
        .map(|(stem, ending)| vec![stem.len(), ending.len()])
}

/// Emoticons are short and hold a character that is not a letter or digit.
fn is_emoticon(text: &str) -> bool {
    text.len() <= 7 && !text.chars().all(char::is_alphanumeric) && EMOTICONS.contains(&text)
}

fn is_whole(chunk: &str) -> bool {
    special(chunk).is_some()
        || is_emoticon(chunk)
        || BARE_ENDINGS.contains(&chunk)
        || is_abbreviation(chunk)
}

/// Length in bytes of the prefix spaCy peels off `chunk`, if any.
fn prefix_len(chunk: &str) -> Option<usize> {
    let mut chars = chunk.chars();
    let first = chars.next()?;
    if first == '.' || first == '…' {
        let run = chunk.chars().take_while(|&c| c == first).count();
        if first == '…' || run >= 2 {
            return Some(run * first.len_utf8());
        }
        return None;
    }
    let next = chars.next();
    let peel = match first {
        '+' => !next.is_some_and(|c| c.is_ascii_digit()),
        '§' | '%' | '=' | '—' | '–' => true,
        c => is_edge_punct(c) || is_currency(c) || is_symbol(c),
    };
    peel.then_some(first.len_utf8())
}

/// Length in bytes of the suffix spaCy peels off `chunk`, if any.
fn suffix_len(chunk: &str) -> Option<usize> {
    let last = chunk.chars().next_back()?;
    let mut reversed = chunk.chars().rev().skip(1);
    let (prev, prev2) = (reversed.next(), reversed.next());
    // Ellipses.
    if last == '…' {
        return Some(last.len_utf8());
    }
    if last == '.' {
        let run = chunk.chars().rev().take_while(|&c| c == '.').count();
        if run >= 2 {
            return Some(run);
        }
        let two_capitals =
            prev.is_some_and(char::is_uppercase) && prev2.is_some_and(char::is_uppercase);
        let prev = prev?;
        let after_lower = prev.is_lowercase()
            || prev.is_ascii_digit()
            || matches!(prev, '%' | '²' | '-' | '+')
            || is_quote(prev)
            || matches!(prev, ')' | ']' | '}' | '°');
        return (after_lower || two_capitals).then_some(1);
    }
    for ending in ["'s", "'S", "’s", "’S"] {
        if chunk.len() > ending.len() && chunk.ends_with(ending) {
            return Some(ending.len());
        }
    }
    if chunk.len() > 3 && (chunk.ends_with("n't") || chunk.ends_with("n’t")) {
        return Some(if chunk.ends_with("n't") { 3 } else { 5 });
    }
    for ending in CONTRACTIONS {
        if let Some(stem) = chunk.strip_suffix(ending)
            && !stem.is_empty()
            && stem.chars().all(char::is_alphabetic)
        {
            return Some(ending.len());
        }
    }
    if last == '+' && prev.is_some_and(|c| c.is_ascii_digit()) {
        return Some(1);
    }
    if matches!(last, '—' | '–' | '%') || is_edge_punct(last) || is_symbol(last) {
        return Some(last.len_utf8());
    }
    // A unit or currency after a number.
    for unit in UNITS {
        if let Some(number) = chunk.strip_suffix(unit)
            && number
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit())
        {
            return Some(unit.len());
        }
    }
    if is_currency(last) && prev.is_some_and(|c| c.is_ascii_digit()) {
        return Some(last.len_utf8());
    }
    None
}

/// Byte ranges of the infix separators of `chunk`.
fn infixes(chunk: &str) -> Vec<(usize, usize)> {
    // Every infix is punctuation or a hyphen-like mark: plain words have none.
    if chunk.chars().all(char::is_alphanumeric) {
        return Vec::new();
    }
    let chars: Vec<(usize, char)> = chunk.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let next_char = |k: usize| chars.get(k).map(|x| x.1);
        let end_of = |k: usize| chars.get(k).map_or(chunk.len(), |x| x.0);
        // Ellipses anywhere.
        if c == '.' && next_char(i + 1) == Some('.') {
            let run = chars[i..].iter().take_while(|x| x.1 == '.').count();
            found.push((start, end_of(i + run)));
            i += run;
            continue;
        }
        if c == '…' {
            found.push((start, end_of(i + 1)));
            i += 1;
            continue;
        }
        let Some(p) = prev else {
            i += 1;
            continue;
        };
        let n = next_char(i + 1);
        // Hyphen runs and tildes between a letter or digit and a letter.
        if matches!(c, '-' | '–' | '—' | '~') {
            let run = chars[i..]
                .iter()
                .take_while(|x| matches!(x.1, '-' | '–' | '—' | '~'))
                .count();
            let after = next_char(i + run);
            let letters = p.is_alphanumeric() && after.is_some_and(char::is_alphabetic);
            let arithmetic = c == '-'
                && run == 1
                && p.is_ascii_digit()
                && after.is_some_and(|a| a.is_ascii_digit() || a == '-');
            if letters || arithmetic {
                found.push((start, end_of(i + run)));
                i += run;
                continue;
            }
            i += run;
            continue;
        }
        let split = match c {
            '+' | '*' | '^' => {
                p.is_ascii_digit() && n.is_some_and(|a| a.is_ascii_digit() || a == '-')
            }
            ',' => p.is_alphabetic() && n.is_some_and(char::is_alphabetic),
            '.' => {
                (p.is_lowercase() || is_quote(p))
                    && n.is_some_and(|a| a.is_uppercase() || is_quote(a))
            }
            ':' | '<' | '>' | '=' | '/' => {
                p.is_alphanumeric() && n.is_some_and(char::is_alphabetic)
            }
            _ => false,
        };
        if split {
            found.push((start, end_of(i + 1)));
        }
        i += 1;
    }
    found
}

fn split_chunk<'a>(mut chunk: &'a str, out: &mut Vec<&'a str>) {
    let mut suffixes: Vec<&'a str> = Vec::new();
    loop {
        if chunk.is_empty() {
            break;
        }
        if is_whole(chunk) {
            break;
        }
        if let Some(len) = prefix_len(chunk) {
            out.push(&chunk[..len]);
            chunk = &chunk[len..];
            continue;
        }
        if let Some(len) = suffix_len(chunk) {
            let cut = chunk.len() - len;
            suffixes.push(&chunk[cut..]);
            chunk = &chunk[..cut];
            continue;
        }
        break;
    }
    if !chunk.is_empty() {
        if let Some(parts) = special(chunk) {
            let mut offset = 0;
            for len in parts {
                out.push(&chunk[offset..offset + len]);
                offset += len;
            }
        } else if is_whole(chunk) || is_url(chunk) {
            out.push(chunk);
        } else {
            let mut start = 0;
            for (a, b) in infixes(chunk) {
                if a > start {
                    out.push(&chunk[start..a]);
                }
                out.push(&chunk[a..b]);
                start = b;
            }
            if start < chunk.len() {
                out.push(&chunk[start..]);
            }
        }
    }
    out.extend(suffixes.into_iter().rev());
}

/// spaCy matches its special cases again over the tokens of a chunk, so tokens that spell an
/// emoticon together (`)` `:` → `):`, `<` `3` → `<3`) become one. `tokens` are consecutive
/// slices of `chunk`.
fn merge_specials<'a>(chunk: &'a str, tokens: &mut Vec<&'a str>) {
    if tokens.len() < 2 {
        return;
    }
    let base = chunk.as_ptr() as usize;
    let mut merged: Vec<&'a str> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let start = tokens[i].as_ptr() as usize - base;
        let mut taken = 1;
        for span in (2..=3).rev() {
            if i + span > tokens.len() {
                continue;
            }
            let last = tokens[i + span - 1];
            let end = last.as_ptr() as usize - base + last.len();
            if is_emoticon(&chunk[start..end]) {
                merged.push(&chunk[start..end]);
                taken = span;
                break;
            }
        }
        if taken == 1 {
            merged.push(tokens[i]);
        }
        i += taken;
    }
    *tokens = merged;
}

/// The words of `text` as datatrove's English filters see them.
pub fn english_words(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / 5);
    let mut chunk_tokens = Vec::new();
    for chunk in text.split_whitespace() {
        chunk_tokens.clear();
        split_chunk(chunk, &mut chunk_tokens);
        merge_specials(chunk, &mut chunk_tokens);
        out.extend_from_slice(&chunk_tokens);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case as spaCy 3.8's blank English tokenizer splits it (whitespace tokens dropped).
    #[test]
    fn splits_like_spacy_on_the_tricky_cases() {
        let cases: &[(&str, &[&str])] = &[
            ("Hello, world.", &["Hello", ",", "world", "."]),
            (
                "don't can't won't I'm you're it's John's JOHN'S",
                &[
                    "do", "n't", "ca", "n't", "wo", "n't", "I", "'m", "you", "'re", "it", "'s",
                    "John", "'s", "JOHN", "'S",
                ],
            ),
            (
                "e-mail 3-4 and/or 1/2 a,b end.Start U.S.A. e.g. etc. Mr. ABC. abc. x.",
                &[
                    "e", "-", "mail", "3", "-", "4", "and/or", "1/2", "a", ",", "b", "end", ".",
                    "Start", "U.S.A.", "e.g.", "etc", ".", "Mr.", "ABC", ".", "abc", ".", "x.",
                ],
            ),
            (
                "$5.00 50% (yes) [1] \"quoted\" 'single' “curly” ...wait... wow!! ok… x—y x--y",
                &[
                    "$", "5.00", "50", "%", "(", "yes", ")", "[", "1", "]", "\"", "quoted", "\"",
                    "'", "single", "'", "“", "curly", "”", "...", "wait", "...", "wow", "!", "!",
                    "ok", "…", "x", "—", "y", "x", "--", "y",
                ],
            ),
            (
                "http://example.com/a/b?c=d. www.test.org, foo@bar.com 3.14 1,000 10km #hash",
                &[
                    "http://example.com/a/b?c=d",
                    ".",
                    "www.test.org",
                    ",",
                    "foo@bar.com",
                    "3.14",
                    "1,000",
                    "10",
                    "km",
                    "#",
                    "hash",
                ],
            ),
            (
                "Ωμέγα. Привет, мир! 你好。 naïve",
                &[
                    "Ωμέγα",
                    ".",
                    "Привет",
                    ",",
                    "мир",
                    "!",
                    "你好",
                    "。",
                    "naïve",
                ],
            ),
            (
                "f(x) = x^2 + 3*x; a<b>c x=y 2+2 a:b 12:30 'tis",
                &[
                    "f(x", ")", "=", "x^2", "+", "3*x", ";", "a", "<", "b", ">", "c", "x", "=",
                    "y", "2", "+", "2", "a", ":", "b", "12:30", "'", "tis",
                ],
            ),
            (
                "wasn't Didn't they're gonna 1..2 !!! :) 😀 hi😀 ©2020 °C -5 +5 well-known",
                &[
                    "was", "n't", "Did", "n't", "they", "'re", "gon", "na", "1", "..", "2", "!",
                    "!", "!", ":)", "😀", "hi", "😀", "©", "2020", "°", "C", "-5", "+5", "well",
                    "-", "known",
                ],
            ),
            (
                "C++ C# #include <stdio.h> main(){return 0;} __init__ foo_bar",
                &[
                    "C++",
                    "C",
                    "#",
                    "#",
                    "include",
                    "<",
                    "stdio.h",
                    ">",
                    "main(){return",
                    "0",
                    ";",
                    "}",
                    "_",
                    "_",
                    "init",
                    "_",
                    "_",
                    "foo_bar",
                ],
            ),
            (
                "<<3*4=12>>12 f(x): a:] x;) (8)",
                &[
                    "<", "<3", "*", "4=12>>12", "f(x", "):", "a", ":]", "x", ";)", "(", "8)",
                ],
            ),
            (
                "I 'd I 'm 've Sr. No. Dont DONT wanna",
                &[
                    "I", "'d", "I", "'", "m", "'", "ve", "Sr", ".", "No", ".", "Do", "nt", "DONT",
                    "wanna",
                ],
            ),
            ("", &[]),
            ("  \n\t ", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(english_words(text), *expected, "{text:?}");
        }
    }

    /// On any text the tokens are non-empty, hold no whitespace, and put back together give
    /// the text without its whitespace (every character lands in exactly one token).
    #[test]
    fn tokens_partition_the_text_on_random_input() {
        let alphabet: Vec<char> =
            "abcXYZ019 .,;:!?'\"()[]{}<>-–—_/\\@#$%&*+=^~`…’“”«»\n\t\u{a0}é你😀°©ʼ"
                .chars()
                .collect();
        let mut rng = crate::SeededRng::new(11);
        for _ in 0..3000 {
            let len = rng.below(40) as usize;
            let text: String = (0..len).map(|_| *rng.pick(&alphabet)).collect();
            let tokens = english_words(&text);
            assert!(
                tokens
                    .iter()
                    .all(|t| !t.is_empty() && !t.contains(char::is_whitespace)),
                "{text:?} → {tokens:?}"
            );
            let joined: String = tokens.concat();
            let expected: String = text.split_whitespace().collect();
            assert_eq!(joined, expected, "{text:?} → {tokens:?}");
        }
    }
}
