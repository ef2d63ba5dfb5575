//! Whether a PEP 508 environment marker, as `uv.lock` writes them on dependency edges
//! (`python_full_version < '3.12'`, `sys_platform == 'win32' or sys_platform == 'emscripten'`),
//! holds for the Linux CPython venv an image gets. The frontend does not always know everything
//! (the patch level, the machine, `extra`), so the answer is three-valued: what it does not know
//! or cannot read is `Unknown`, never a guess.

use std::cmp::Ordering;

/// What the frontend knows of the environment a venv is made for: Linux, CPython.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerEnv {
    /// Python major and minor, and the patch level when known (`None`: any `3.11.x`).
    pub python: (u64, u64, Option<u64>),
    /// `platform_machine` as Python reports it on Linux (`x86_64`, `aarch64`, ...); `None`
    /// when unknown.
    pub machine: Option<String>,
}

/// A marker's value in three-valued (Kleene) logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    /// Kleene conjunction: `False` if either is, else `Unknown` if either is.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    /// Kleene disjunction: `True` if either is, else `Unknown` if either is.
    pub fn or(self, other: Truth) -> Truth {
        let negated = (!self).and(!other);
        !negated
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    /// `Unknown` stays `Unknown`.
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

impl From<bool> for Truth {
    fn from(value: bool) -> Truth {
        if value {
            Truth::True
        } else {
            Truth::False
        }
    }
}

impl From<Option<bool>> for Truth {
    /// `None` (could not tell) is `Unknown`.
    fn from(value: Option<bool>) -> Truth {
        value.map_or(Truth::Unknown, Truth::from)
    }
}

/// More parentheses nested than this make a marker `Unknown`: it bounds the parser's recursion.
const MAX_DEPTH: usize = 64;

/// Whether `marker` holds in `env`. Anything this does not know or cannot read is `Unknown`
/// (never a panic, never a guess). An empty marker holds: no marker means always.
pub fn evaluate(marker: &str, env: &MarkerEnv) -> Truth {
    if marker.trim().is_empty() {
        return Truth::True;
    }
    let Some(tokens) = tokenize(marker) else {
        return Truth::Unknown;
    };
    let mut parser = Parser { tokens, at: 0, env };
    match parser.disjunction(0) {
        Some(truth) if parser.at == parser.tokens.len() => truth,
        _ => Truth::Unknown,
    }
}

/// A comparison operator of PEP 508.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `~=`
    Compatible,
    /// `===`
    Arbitrary,
    In,
    NotIn,
}

/// One lexical piece of a marker; text borrows from the marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    /// A quoted string, without its quotes.
    Quoted(&'a str),
    /// A variable name or a keyword (`and`, `or`, `in`, `not`).
    Word(&'a str),
    /// A symbolic operator (`==`, `~=`, ...).
    Symbol(Op),
}

/// The marker's tokens; `None` for an unterminated string, an unknown operator or a character
/// that has no place in a marker.
fn tokenize(marker: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    let mut rest = marker.trim_start();
    while let Some(first) = rest.chars().next() {
        let (token, len) = match first {
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            '\'' | '"' => {
                let end = rest[1..].find(first)?;
                (Token::Quoted(&rest[1..=end]), end + 2)
            }
            c if is_symbol_char(c) => {
                let len = rest.find(|c| !is_symbol_char(c)).unwrap_or(rest.len());
                (Token::Symbol(symbol(&rest[..len])?), len)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = rest.find(|c| !is_word_char(c)).unwrap_or(rest.len());
                (Token::Word(&rest[..len]), len)
            }
            _ => return None,
        };
        tokens.push(token);
        rest = rest[len..].trim_start();
    }
    Some(tokens)
}

fn is_symbol_char(c: char) -> bool {
    matches!(c, '=' | '!' | '<' | '>' | '~')
}

/// Characters of a variable name after the first; `.` lets the legacy `os.name` read as one
/// (unknown) name.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// The operator a run of symbol characters spells; `None` for anything else (`<==`, `=`).
fn symbol(text: &str) -> Option<Op> {
    Some(match text {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "~=" => Op::Compatible,
        "===" => Op::Arbitrary,
        _ => return None,
    })
}

/// One side of a comparison.
#[derive(Clone, Copy, Debug)]
enum Operand<'a> {
    Variable(&'a str),
    Literal(&'a str),
}

/// A recursive-descent parser that evaluates as it reads. Every method returns `None` when the
/// marker does not parse, which makes the whole marker `Unknown`.
struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    /// The next token to read.
    at: usize,
    env: &'a MarkerEnv,
}

impl<'a> Parser<'a> {
    /// Takes the next token, if any.
    fn next(&mut self) -> Option<Token<'a>> {
        let token = self.tokens.get(self.at).copied()?;
        self.at += 1;
        Some(token)
    }

    /// Takes the next token if it is `token`.
    fn eat(&mut self, token: Token<'_>) -> bool {
        let matches = self.tokens.get(self.at) == Some(&token);
        self.at += usize::from(matches);
        matches
    }

    /// `conjunction ('or' conjunction)*`, `depth` parentheses in.
    fn disjunction(&mut self, depth: usize) -> Option<Truth> {
        let mut truth = self.conjunction(depth)?;
        while self.eat(Token::Word("or")) {
            truth = truth.or(self.conjunction(depth)?);
        }
        Some(truth)
    }

    /// `term ('and' term)*`: `and` binds tighter than `or`.
    fn conjunction(&mut self, depth: usize) -> Option<Truth> {
        let mut truth = self.term(depth)?;
        while self.eat(Token::Word("and")) {
            truth = truth.and(self.term(depth)?);
        }
        Some(truth)
    }

    /// A parenthesized marker or one comparison.
    fn term(&mut self, depth: usize) -> Option<Truth> {
        if self.eat(Token::Open) {
            if depth >= MAX_DEPTH {
                return None;
            }
            let truth = self.disjunction(depth + 1)?;
            return self.eat(Token::Close).then_some(truth);
        }
        let left = self.operand()?;
        let op = self.operator()?;
        let right = self.operand()?;
        Some(compare(left, op, right, self.env))
    }

    fn operand(&mut self) -> Option<Operand<'a>> {
        match self.next()? {
            Token::Quoted(text) => Some(Operand::Literal(text)),
            Token::Word(name) if !matches!(name, "and" | "or" | "in" | "not") => {
                Some(Operand::Variable(name))
            }
            _ => None,
        }
    }

    fn operator(&mut self) -> Option<Op> {
        match self.next()? {
            Token::Symbol(op) => Some(op),
            Token::Word("in") => Some(Op::In),
            Token::Word("not") => self.eat(Token::Word("in")).then_some(Op::NotIn),
            _ => None,
        }
    }
}

/// A release version (`3.11.4`) as numbers; PEP 440 compares them with missing parts as zeros.
type Release = Vec<u64>;

/// What the environment says a variable is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value<'e> {
    /// A string variable (`sys_platform`), compared as a string.
    Text(&'e str),
    /// A version variable known in full: `python_version`, or `python_full_version` with the
    /// patch level known.
    Version(Release),
    /// `python_full_version` with the patch level unknown: any of `X.Y.0`, `X.Y.1`, ...
    AnyPatch(u64, u64),
    /// A variable the frontend does not know (`extra`, `platform_release`, a misspelling).
    Unknown,
}

/// The value of variable `name` in `env`.
fn lookup<'e>(name: &str, env: &'e MarkerEnv) -> Value<'e> {
    let (major, minor, patch) = env.python;
    match name {
        "sys_platform" => Value::Text("linux"),
        "os_name" => Value::Text("posix"),
        "platform_system" => Value::Text("Linux"),
        "implementation_name" => Value::Text("cpython"),
        "platform_python_implementation" => Value::Text("CPython"),
        "platform_machine" => env.machine.as_deref().map_or(Value::Unknown, Value::Text),
        "python_version" => Value::Version(vec![major, minor]),
        "python_full_version" | "implementation_version" => match patch {
            Some(patch) => Value::Version(vec![major, minor, patch]),
            None => Value::AnyPatch(major, minor),
        },
        _ => Value::Unknown,
    }
}

/// Which side of the operator the variable is on (`python_version < '3.12'` is `Left`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// One comparison: a variable against a quoted string, either way round. Two variables or two
/// strings are `Unknown`: PEP 508 allows them but `uv.lock` never writes them.
fn compare(left: Operand<'_>, op: Op, right: Operand<'_>, env: &MarkerEnv) -> Truth {
    let (name, literal, side) = match (left, right) {
        (Operand::Variable(name), Operand::Literal(literal)) => (name, literal, Side::Left),
        (Operand::Literal(literal), Operand::Variable(name)) => (name, literal, Side::Right),
        _ => return Truth::Unknown,
    };
    match lookup(name, env) {
        Value::Text(value) => compare_text(value, op, literal, side),
        Value::Version(release) => compare_version(&release, op, literal, side),
        Value::AnyPatch(major, minor) => compare_any_patch((major, minor), op, literal, side),
        Value::Unknown => Truth::Unknown,
    }
}

/// Whether the left operand is a substring of the right one, as `in` asks.
fn is_in(value: &str, literal: &str, side: Side) -> bool {
    match side {
        Side::Left => literal.contains(value),
        Side::Right => value.contains(literal),
    }
}

/// A string variable's comparison: exact `==`/`!=`, substring `in`/`not in`; the rest
/// (ordering strings, `~=`, `===`) is `Unknown`.
fn compare_text(value: &str, op: Op, literal: &str, side: Side) -> Truth {
    match op {
        Op::Eq => (value == literal).into(),
        Op::Ne => (value != literal).into(),
        Op::In => is_in(value, literal, side).into(),
        Op::NotIn => (!is_in(value, literal, side)).into(),
        _ => Truth::Unknown,
    }
}

/// A fully known version's comparison: `in`/`not in`/`===` on its text, the rest as PEP 440
/// specifiers.
fn compare_version(version: &[u64], op: Op, literal: &str, side: Side) -> Truth {
    let text = || {
        version
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    };
    match op {
        Op::In => is_in(&text(), literal, side).into(),
        Op::NotIn => (!is_in(&text(), literal, side)).into(),
        Op::Arbitrary => text().eq_ignore_ascii_case(literal.trim()).into(),
        _ => version_holds(version, op, literal, side).into(),
    }
}

/// Whether `version op literal` (or `literal op version`) holds as PEP 440 has it; `None` when
/// the literal is not a release version or the operator makes no specifier of it.
fn version_holds(version: &[u64], op: Op, literal: &str, side: Side) -> Option<bool> {
    let literal = literal.trim();
    Some(match (side, op) {
        (Side::Left, _) => Specifier::parse(op, literal)?.contains(version),
        // `'3.12' ~= python_version`: the variable makes the specifier.
        (Side::Right, Op::Compatible) => {
            Specifier::compatible(version.to_vec())?.contains(&release(literal)?)
        }
        (Side::Right, _) => order_test(op)?(compare_releases(&release(literal)?, version)),
    })
}

/// `python_full_version` of `X.Y` with the patch unknown: `True` or `False` only when every
/// patch level agrees.
fn compare_any_patch(minor: (u64, u64), op: Op, literal: &str, side: Side) -> Truth {
    match op {
        Op::In | Op::NotIn | Op::Arbitrary => any_patch_text(minor, op, literal, side),
        _ => {
            let (major, minor) = minor;
            let Some(patches) = patch_candidates(literal) else {
                return Truth::Unknown;
            };
            for_every(patches.map(|patch| version_holds(&[major, minor, patch], op, literal, side)))
        }
    }
}

/// Patch levels that stand for all: whether `X.Y.p` satisfies a comparison with `literal`
/// depends only on how `p` compares with the literal's third part `c` (and on `p == 0` against
/// a shorter literal), so `0`, `1`, `c - 1`, `c` and `c + 1` meet every case. `None` when
/// `c + 1` does not fit a `u64`.
fn patch_candidates(literal: &str) -> Option<[u64; 5]> {
    let third = literal
        .trim()
        .split('.')
        .nth(2)
        .and_then(|part| part.parse::<u64>().ok())
        .unwrap_or(0);
    Some([0, 1, third.saturating_sub(1), third, third.checked_add(1)?])
}

/// `True` if every answer is yes, `False` if every one is no, else `Unknown`.
fn for_every(answers: impl IntoIterator<Item = Option<bool>>) -> Truth {
    let (mut yes, mut no) = (false, false);
    for answer in answers {
        match answer {
            Some(true) => yes = true,
            Some(false) => no = true,
            None => return Truth::Unknown,
        }
    }
    match (yes, no) {
        (true, false) => Truth::True,
        (false, true) => Truth::False,
        _ => Truth::Unknown,
    }
}

/// `in`, `not in` and `===` on the text `X.Y.p` of an unknown patch level `p`: certain only when
/// no `p` could make it hold, or (`'3.11' in python_full_version`) every `p` does.
fn any_patch_text((major, minor): (u64, u64), op: Op, literal: &str, side: Side) -> Truth {
    let prefix = format!("{major}.{minor}.");
    if op == Op::Arbitrary {
        // `===` is string equality: some `p` matches only `X.Y.` and a number as Python writes it.
        let patch = literal.trim().strip_prefix(&prefix).unwrap_or("");
        let some_patch = patch.parse::<u64>().is_ok_and(|p| p.to_string() == patch);
        return if some_patch {
            Truth::Unknown
        } else {
            Truth::False
        };
    }
    let some_patch_in = |text: &str| {
        text.match_indices(&prefix)
            .any(|(at, _)| text[at + prefix.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    let contained = match side {
        // Some `X.Y.p` is in the literal only if `X.Y.` and a digit are; never all of them.
        Side::Left if !some_patch_in(literal) => Truth::False,
        Side::Right if prefix.contains(literal) => Truth::True,
        _ => Truth::Unknown,
    };
    if op == Op::NotIn {
        !contained
    } else {
        contained
    }
}

/// A PEP 440 version specifier on release versions.
#[derive(Clone, Debug)]
enum Specifier {
    /// `<`, `<=`, `>`, `>=`, `==`, `!=` a release: the test on how a version compares with it.
    Compare(fn(Ordering) -> bool, Release),
    /// `==X.Y.*` (`equal`) or `!=X.Y.*`.
    Prefix { equal: bool, prefix: Release },
    /// `~=X.Y.Z`: at least `X.Y.Z`, and `X.Y.*`.
    Compatible(Release),
}

impl Specifier {
    /// The specifier `op text` makes; `None` for a version this does not read (pre-releases,
    /// epochs, local versions, garbage) or an operator that makes no specifier here.
    fn parse(op: Op, text: &str) -> Option<Specifier> {
        match (op, text.strip_suffix(".*")) {
            (Op::Eq | Op::Ne, Some(prefix)) => Some(Specifier::Prefix {
                equal: op == Op::Eq,
                prefix: release(prefix)?,
            }),
            (Op::Compatible, None) => Specifier::compatible(release(text)?),
            (_, None) => Some(Specifier::Compare(order_test(op)?, release(text)?)),
            (_, Some(_)) => None,
        }
    }

    /// `~=` of `release`, which needs at least two parts.
    fn compatible(release: Release) -> Option<Specifier> {
        (release.len() >= 2).then_some(Specifier::Compatible(release))
    }

    /// Whether `version` satisfies this.
    fn contains(&self, version: &[u64]) -> bool {
        match self {
            Specifier::Compare(test, release) => test(compare_releases(version, release)),
            Specifier::Prefix { equal, prefix } => starts_with(version, prefix) == *equal,
            Specifier::Compatible(release) => {
                compare_releases(version, release).is_ge()
                    && starts_with(version, &release[..release.len() - 1])
            }
        }
    }
}

/// The test an ordering operator makes of how the left side compares with the right.
fn order_test(op: Op) -> Option<fn(Ordering) -> bool> {
    Some(match op {
        Op::Eq => Ordering::is_eq,
        Op::Ne => Ordering::is_ne,
        Op::Lt => Ordering::is_lt,
        Op::Le => Ordering::is_le,
        Op::Gt => Ordering::is_gt,
        Op::Ge => Ordering::is_ge,
        _ => return None,
    })
}

/// `3.11.4` as numbers; `None` for anything but dot-separated decimal numbers that fit a `u64`.
fn release(text: &str) -> Option<Release> {
    text.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        })
        .collect()
}

/// The `i`th part of a release, zero past its end.
fn part(release: &[u64], i: usize) -> u64 {
    release.get(i).copied().unwrap_or(0)
}

/// PEP 440 order of releases: missing parts are zeros, `3.11 == 3.11.0`.
fn compare_releases(a: &[u64], b: &[u64]) -> Ordering {
    (0..a.len().max(b.len()))
        .map(|i| part(a, i).cmp(&part(b, i)))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Whether `version`, padded with zeros, begins with `prefix` (`3.11` begins with `3.11.0`).
fn starts_with(version: &[u64], prefix: &[u64]) -> bool {
    prefix
        .iter()
        .enumerate()
        .all(|(i, &p)| part(version, i) == p)
}

#[cfg(test)]
mod tests;
