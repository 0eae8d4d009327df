//! What datatrove's quality filters share: its punctuation sets (`PUNCTUATION` and
//! `TERMINAL_PUNCTUATION` of `datatrove.utils.text`), spaCy's sentencizer punctuation, Python's
//! `str.splitlines` and `str.strip`, and datatrove's `find_duplicates`. Lengths are counted in
//! code points, as Python's `len`.

use std::collections::HashSet;
use std::sync::LazyLock;

/// datatrove's `PUNCTUATION` (ASCII punctuation, C0/C1 controls except `\t` and `\n`, and
/// common CJK / typographic marks).
const PUNCTUATION: &str = "\u{0}\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{b}\u{c}\u{d}\u{e}\u{f}\u{10}\u{11}\u{12}\u{13}\u{14}\u{15}\u{16}\u{17}\u{18}\u{19}\u{1a}\u{1b}\u{1c}\u{1d}\u{1e}\u{1f}!\u{22}#$%&'()*+,-./:;<=>?@[\u{5c}]^_`{|}~\u{7f}\u{80}\u{81}\u{82}\u{83}\u{84}\u{85}\u{86}\u{87}\u{88}\u{89}\u{8a}\u{8b}\u{8c}\u{8d}\u{8e}\u{8f}\u{90}\u{91}\u{92}\u{93}\u{94}\u{95}\u{96}\u{97}\u{98}\u{99}\u{9a}\u{9b}\u{9c}\u{9d}\u{9e}\u{9f}«´»–—’“”„…∶━►、。〈〉《》「」【】！％（），．１：；？～";

/// datatrove's `TERMINAL_PUNCTUATION`: sentence-ending marks of many scripts.
const TERMINAL_PUNCTUATION: &str = "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼⹓⹔。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡𐩖𐩗𐽕𐽖𐽗𐽘𐽙𐾆𐾇𐾈𐾉𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑥄𑥆𑩂𑩃𑪛𑪜𑱁𑱂𑻷𑻸\u{11f43}\u{11f44}𖩮𖩯𖫵𖬷𖬸𖭄𖺘𛲟𝪈";

/// spaCy's sentencizer `default_punct_chars`.
const SENTENCE_PUNCTUATION: &str = "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈";

static PUNCTUATION_SET: LazyLock<HashSet<char>> = LazyLock::new(|| {
    PUNCTUATION
        .chars()
        .chain(TERMINAL_PUNCTUATION.chars())
        .collect()
});
static TERMINAL_SET: LazyLock<HashSet<char>> =
    LazyLock::new(|| TERMINAL_PUNCTUATION.chars().collect());
static SENTENCE_SET: LazyLock<HashSet<char>> =
    LazyLock::new(|| SENTENCE_PUNCTUATION.chars().collect());

/// In `PUNCTUATION ∪ TERMINAL_PUNCTUATION` (a word made only of these is a symbol).
pub fn is_punctuation(c: char) -> bool {
    PUNCTUATION_SET.contains(&c)
}

pub fn is_terminal_punctuation(c: char) -> bool {
    TERMINAL_SET.contains(&c)
}

/// A token spaCy's sentencizer treats as ending a sentence: one of its punctuation chars.
pub fn is_sentence_end(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if SENTENCE_SET.contains(&c))
}

/// Unicode general category P* (spaCy's `is_punct`), for the common blocks.
pub fn is_unicode_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation()
            && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~');
    }
    let code = u32::from(c);
    matches!(
        c,
        '¡' | '§' | '«' | '¶' | '·' | '»' | '¿' | '։' | '־' | '،' | '؛' | '؟' | '۔' | '।' | '॥'
    ) || (0x2010..=0x2027).contains(&code)
        || (0x2030..=0x2043).contains(&code)
        || (0x2045..=0x2051).contains(&code)
        || (0x2053..=0x205E).contains(&code)
        || (0x2E00..=0x2E4F).contains(&code)
        || (0x3001..=0x3003).contains(&code)
        || (0x3008..=0x3011).contains(&code)
        || (0x3014..=0x301F).contains(&code)
        || matches!(code, 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20 | 0xFF3B..=0xFF3D | 0xFF3F | 0xFF5B | 0xFF5D | 0xFF5F..=0xFF65)
}

/// Python's `str.isspace` for the characters that occur in text.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Python's `str.strip()`.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(is_python_space)
}

/// Python's `str.splitlines()`: splits at `\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`–`\x1e`,
/// `\x85`, U+2028 and U+2029; no empty piece after a final line break.
pub fn python_splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&text[start..i]);
        let mut end = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            end += 1;
        }
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Code points of `text`.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// datatrove's `find_duplicates`: how many elements repeat an earlier one, and their total
/// length in code points.
pub fn find_duplicates<'a>(elements: impl IntoIterator<Item = &'a str>) -> (usize, usize) {
    let mut seen: HashSet<&str, xxhash_rust::xxh3::Xxh3DefaultBuilder> = HashSet::default();
    let (mut count, mut chars) = (0, 0);
    for element in elements {
        if !seen.insert(element) {
            count += 1;
            chars += char_len(element);
        }
    }
    (count, chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_string_helpers_match_python() {
        // "a\r\nb\rc\n\nd\n".splitlines() == ['a', 'b', 'c', '', 'd']
        assert_eq!(
            python_splitlines("a\r\nb\rc\n\nd\n"),
            ["a", "b", "c", "", "d"]
        );
        assert_eq!(python_splitlines(""), Vec::<&str>::new());
        assert_eq!(python_splitlines("x\u{2028}y"), ["x", "y"]);
        assert_eq!(python_strip(" \t\u{1f}a b\n "), "a b");
        assert_eq!(find_duplicates(["a", "bb", "a", "bb", "bb", "c"]), (3, 5));
        assert!(is_punctuation('１') && is_punctuation('.') && !is_punctuation('‘'));
        assert!(is_terminal_punctuation('。') && !is_terminal_punctuation('…'));
        assert!(is_sentence_end("!") && !is_sentence_end("...") && !is_sentence_end(","));
        assert!(
            is_unicode_punctuation('—')
                && is_unicode_punctuation('"')
                && !is_unicode_punctuation('$')
        );
    }
}
