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
mod tests {
    use super::{evaluate, MarkerEnv, Truth};
    use Truth::{False, True, Unknown};

    /// CPython 3.11 on x86_64, with the patch level given.
    fn env(patch: Option<u64>) -> MarkerEnv {
        MarkerEnv {
            python: (3, 11, patch),
            machine: Some("x86_64".to_string()),
        }
    }

    /// Asserts every marker's value in `env`.
    #[track_caller]
    fn check(env: &MarkerEnv, cases: &[(&str, Truth)]) {
        for &(marker, expected) in cases {
            assert_eq!(evaluate(marker, env), expected, "{marker:?} in {env:?}");
        }
    }

    #[test]
    fn an_empty_marker_always_holds() {
        check(&env(None), &[("", True), ("   ", True), (" \t\n", True)]);
    }

    #[test]
    fn string_variables_are_those_of_linux_cpython() {
        check(
            &env(None),
            &[
                ("sys_platform == 'linux'", True),
                ("sys_platform == \"linux\"", True),
                ("sys_platform == 'win32'", False),
                ("sys_platform == 'Linux'", False),
                ("sys_platform != 'win32'", True),
                ("sys_platform != 'linux'", False),
                ("os_name == 'posix'", True),
                ("os_name == 'nt'", False),
                ("platform_system == 'Linux'", True),
                ("platform_system == 'Darwin'", False),
                ("implementation_name == 'cpython'", True),
                ("implementation_name == 'pypy'", False),
                ("platform_python_implementation == 'CPython'", True),
                ("platform_python_implementation != 'PyPy'", True),
                ("platform_machine == 'x86_64'", True),
                ("platform_machine == 'aarch64'", False),
                ("platform_machine != 'aarch64'", True),
            ],
        );
    }

    #[test]
    fn an_unknown_machine_is_unknown() {
        let env = MarkerEnv {
            machine: None,
            ..env(None)
        };
        check(
            &env,
            &[
                ("platform_machine == 'x86_64'", Unknown),
                ("platform_machine != 'x86_64'", Unknown),
                ("platform_machine in 'x86_64 aarch64'", Unknown),
                ("'arm' in platform_machine", Unknown),
            ],
        );
        let arm = MarkerEnv {
            machine: Some("aarch64".to_string()),
            ..env
        };
        check(&arm, &[("platform_machine == 'aarch64'", True)]);
    }

    #[test]
    fn in_and_not_in_test_substrings_either_way_round() {
        check(
            &env(Some(4)),
            &[
                ("sys_platform in 'linux win32'", True),
                ("sys_platform in 'darwin win32'", False),
                ("sys_platform not in 'darwin win32'", True),
                ("sys_platform not in 'linux2'", False),
                ("'lin' in sys_platform", True),
                ("'win' in sys_platform", False),
                ("'win' not in sys_platform", True),
                ("'' in sys_platform", True),
                ("platform_machine in 'x86_64 aarch64'", True),
                ("python_version in '3.10 3.11'", True),
                ("python_version in '3.12 3.13'", False),
                ("python_version not in '3.12 3.13'", True),
                ("'3.1' in python_version", True),
                ("python_full_version in '3.11.4'", True),
                ("python_full_version in '3.11.5'", False),
            ],
        );
    }

    #[test]
    fn ordering_strings_is_unknown() {
        check(
            &env(None),
            &[
                ("sys_platform < 'win32'", Unknown),
                ("sys_platform <= 'linux'", Unknown),
                ("sys_platform > 'darwin'", Unknown),
                ("sys_platform >= 'linux'", Unknown),
                ("'win32' > sys_platform", Unknown),
                ("sys_platform ~= 'linux'", Unknown),
                ("sys_platform === 'linux'", Unknown),
                ("platform_machine < 'y'", Unknown),
            ],
        );
    }

    #[test]
    fn version_operators_with_the_patch_known() {
        check(
            &env(Some(4)),
            &[
                ("python_full_version == '3.11.4'", True),
                ("python_full_version == '3.11.4.0'", True),
                ("python_full_version == '3.11.3'", False),
                ("python_full_version == '3.11'", False),
                ("python_full_version != '3.11.4'", False),
                ("python_full_version != '3.11.3'", True),
                ("python_full_version < '3.11.5'", True),
                ("python_full_version < '3.11.4'", False),
                ("python_full_version < '3.12'", True),
                ("python_full_version <= '3.11.4'", True),
                ("python_full_version <= '3.11.3'", False),
                ("python_full_version > '3.11.3'", True),
                ("python_full_version > '3.11.4'", False),
                ("python_full_version >= '3.11.4'", True),
                ("python_full_version >= '3.11.5'", False),
                ("python_full_version >= '3.9'", True),
                ("python_full_version >= '3.10'", True),
                ("python_full_version < '4'", True),
                ("python_full_version === '3.11.4'", True),
                ("python_full_version === '3.11.4.0'", False),
                ("python_full_version === ' 3.11.4 '", True),
                ("implementation_version == '3.11.4'", True),
                ("implementation_version < '3.11'", False),
                ("python_full_version >= '03.011.04'", True),
            ],
        );
    }

    #[test]
    fn python_version_is_major_and_minor() {
        for patch in [None, Some(0), Some(9)] {
            check(
                &env(patch),
                &[
                    ("python_version == '3.11'", True),
                    ("python_version == '3.11.0'", True),
                    ("python_version == '3.12'", False),
                    ("python_version != '3.11'", False),
                    ("python_version < '3.12'", True),
                    ("python_version < '3.11'", False),
                    ("python_version <= '3.11'", True),
                    ("python_version > '3.10'", True),
                    ("python_version > '3.11'", False),
                    ("python_version >= '3.11'", True),
                    ("python_version >= '3.12'", False),
                    ("python_version < '3.11.4'", True),
                    ("python_version === '3.11'", True),
                    ("python_version === '3.11.0'", False),
                ],
            );
        }
    }

    #[test]
    fn the_variable_may_be_on_the_right() {
        check(
            &env(Some(4)),
            &[
                ("'linux' == sys_platform", True),
                ("'win32' == sys_platform", False),
                ("'win32' != sys_platform", True),
                ("'3.11' == python_version", True),
                ("'3.11' != python_version", False),
                ("'3.12' > python_version", True),
                ("'3.11' > python_version", False),
                ("'3.11' >= python_version", True),
                ("'3.10' < python_version", True),
                ("'3.11' < python_version", False),
                ("'3.11' <= python_version", True),
                ("'3.11.5' > python_full_version", True),
                ("'3.11.4' > python_full_version", False),
                ("'3.11.4' === python_full_version", True),
                // `'3.12' ~= python_version` is `3.12` in `~=3.11`, that is `>=3.11, ==3.*`.
                ("'3.12' ~= python_version", True),
                ("'4.0' ~= python_version", False),
                ("'3.10' ~= python_version", False),
                // `~=3.11.4` is `>=3.11.4, ==3.11.*`.
                ("'3.11.9' ~= python_full_version", True),
                ("'3.11.3' ~= python_full_version", False),
                ("'3.12' ~= python_full_version", False),
                // A wildcard belongs after the operator, not before it.
                ("'3.11.*' == python_version", Unknown),
                ("'3.11.*' != python_version", Unknown),
            ],
        );
    }

    #[test]
    fn wildcards_match_prefixes() {
        for patch in [None, Some(4)] {
            check(
                &env(patch),
                &[
                    ("python_version == '3.11.*'", True),
                    ("python_version == '3.*'", True),
                    ("python_version == '3.1.*'", False),
                    ("python_version == '3.12.*'", False),
                    ("python_version != '3.11.*'", False),
                    ("python_version != '3.12.*'", True),
                    ("python_version == '3.11.0.*'", True),
                    ("python_full_version == '3.11.*'", True),
                    ("python_full_version != '3.11.*'", False),
                    ("python_full_version == '3.10.*'", False),
                    ("python_full_version != '3.10.*'", True),
                    ("python_full_version < '3.11.*'", Unknown),
                    ("python_full_version ~= '3.11.*'", Unknown),
                    ("python_full_version == '*'", Unknown),
                    ("python_full_version == '3.*.1'", Unknown),
                ],
            );
        }
        check(
            &env(Some(4)),
            &[
                ("python_full_version == '3.11.4.*'", True),
                ("python_full_version == '3.11.5.*'", False),
                ("python_full_version != '3.11.4.*'", False),
            ],
        );
        check(
            &env(None),
            &[
                ("python_full_version == '3.11.4.*'", Unknown),
                ("python_full_version != '3.11.4.*'", Unknown),
            ],
        );
    }

    #[test]
    fn compatible_release() {
        check(
            &env(Some(4)),
            &[
                ("python_version ~= '3.11'", True),
                ("python_version ~= '3.10'", True),
                ("python_version ~= '3.12'", False),
                ("python_version ~= '2.7'", False),
                ("python_full_version ~= '3.11.2'", True),
                ("python_full_version ~= '3.11.4'", True),
                ("python_full_version ~= '3.11.5'", False),
                ("python_full_version ~= '3.10.2'", False),
                ("python_full_version ~= '3.11.4.1'", False),
                ("python_full_version ~= '3.11.3.1'", False),
                ("python_full_version ~= '3.11.4.0'", True),
                // `~=` needs two parts.
                ("python_version ~= '3'", Unknown),
            ],
        );
        check(
            &env(None),
            &[
                ("python_full_version ~= '3.11'", True),
                ("python_full_version ~= '3.10'", True),
                ("python_full_version ~= '3.12'", False),
                ("python_full_version ~= '3.11.0'", True),
                ("python_full_version ~= '3.11.2'", Unknown),
                ("python_full_version ~= '3.10.2'", False),
                ("'3.11.2' ~= python_full_version", Unknown),
                ("'3.12' ~= python_full_version", False),
                ("'3.12' ~= python_version", True),
            ],
        );
    }

    #[test]
    fn an_unknown_patch_decides_only_what_every_patch_agrees_on() {
        check(
            &env(None),
            &[
                ("python_full_version < '3.12'", True),
                ("python_full_version >= '3.11'", True),
                ("python_full_version >= '3.11.0'", True),
                ("python_full_version > '3.10.99'", True),
                ("python_full_version <= '3.11'", Unknown),
                ("python_full_version > '3.11'", Unknown),
                ("python_full_version < '3.11.4'", Unknown),
                ("python_full_version >= '3.11.4'", Unknown),
                ("python_full_version < '3.11'", False),
                ("python_full_version >= '3.12'", False),
                ("python_full_version == '3.11'", Unknown),
                ("python_full_version == '3.11.4'", Unknown),
                ("python_full_version != '3.11.4'", Unknown),
                ("python_full_version == '3.12'", False),
                ("python_full_version != '3.12.0'", True),
                ("python_full_version < '3.11.18446744073709551615'", Unknown),
                ("python_full_version > '3.11.18446744073709551615'", Unknown),
                ("'3.12' > python_full_version", True),
                ("'3.11.4' > python_full_version", Unknown),
                ("'3.11' <= python_full_version", True),
                ("implementation_version < '3.12'", True),
                ("implementation_version == '3.11.1'", Unknown),
                ("python_version == '3.11'", True),
                ("python_full_version === '3.11.4'", Unknown),
                ("python_full_version === '3.11'", False),
                ("python_full_version === '3.11.04'", False),
                ("python_full_version === '3.12.0'", False),
                ("python_full_version in '3.11.4 3.11.5'", Unknown),
                ("python_full_version in '3.10.4 3.12.5'", False),
                ("python_full_version in '3.11.'", False),
                ("python_full_version not in '3.12.0'", True),
                ("python_full_version not in '3.11.0'", Unknown),
                ("'3.11' in python_full_version", True),
                ("'3.11.' in python_full_version", True),
                ("'3.11.4' in python_full_version", Unknown),
            ],
        );
    }

    #[test]
    fn versions_this_does_not_read_are_unknown() {
        for patch in [None, Some(4)] {
            check(
                &env(patch),
                &[
                    ("python_full_version < '3.12rc1'", Unknown),
                    ("python_full_version < '3.12.0a1'", Unknown),
                    ("python_full_version < '3.12.post1'", Unknown),
                    ("python_full_version < '1!3.12'", Unknown),
                    ("python_full_version < '3.12+local'", Unknown),
                    ("python_full_version < 'v3.12'", Unknown),
                    ("python_full_version < 'three'", Unknown),
                    ("python_full_version < ''", Unknown),
                    ("python_full_version < '3..12'", Unknown),
                    ("python_full_version < '3.12.'", Unknown),
                    ("python_full_version < '-3'", Unknown),
                    ("python_full_version < '99999999999999999999999'", Unknown),
                    ("python_version == '3.11.*.*'", Unknown),
                    ("python_version != '.*'", Unknown),
                    ("python_version <= '3.11.٣'", Unknown),
                ],
            );
        }
    }

    #[test]
    fn variables_this_does_not_know_are_unknown() {
        check(
            &env(Some(4)),
            &[
                ("platform_release == '6.1.0'", Unknown),
                ("platform_release >= '6'", Unknown),
                ("platform_version == '#1 SMP'", Unknown),
                ("extra == 'test'", Unknown),
                ("extra != 'test'", Unknown),
                ("'test' in extra", Unknown),
                ("dependency_groups == 'dev'", Unknown),
                ("'dev' in dependency_groups", Unknown),
                ("python_implementation == 'CPython'", Unknown),
                ("os.name == 'posix'", Unknown),
                ("sys_platfrom == 'linux'", Unknown),
                ("SYS_PLATFORM == 'linux'", Unknown),
            ],
        );
    }

    #[test]
    fn kleene_logic() {
        let all = [True, False, Unknown];
        for a in all {
            assert_eq!(True.and(a), a);
            assert_eq!(False.and(a), False);
            assert_eq!(False.or(a), a);
            assert_eq!(True.or(a), True);
            for b in all {
                assert_eq!(a.and(b), b.and(a));
                assert_eq!(a.or(b), b.or(a));
                assert_eq!(!(a.and(b)), (!a).or(!b));
            }
        }
        assert_eq!(Unknown.and(Unknown), Unknown);
        assert_eq!(Unknown.or(Unknown), Unknown);
        assert_eq!(!Unknown, Unknown);
        assert_eq!(!True, False);
        check(
            &env(None),
            &[
                ("sys_platform == 'win32' and extra == 'x'", False),
                ("extra == 'x' and sys_platform == 'win32'", False),
                ("sys_platform == 'linux' and extra == 'x'", Unknown),
                ("sys_platform == 'linux' or extra == 'x'", True),
                ("extra == 'x' or sys_platform == 'linux'", True),
                ("sys_platform == 'win32' or extra == 'x'", Unknown),
                ("extra == 'x' or extra == 'y'", Unknown),
                ("extra == 'x' and extra == 'y'", Unknown),
                ("sys_platform == 'linux' and os_name == 'posix'", True),
                ("sys_platform == 'win32' or os_name == 'nt'", False),
            ],
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        check(
            &env(None),
            &[
                // `T or (F and F)`; `(T or F) and F` would be false.
                ("sys_platform == 'linux' or sys_platform == 'win32' and os_name == 'nt'", True),
                ("os_name == 'nt' and sys_platform == 'win32' or sys_platform == 'linux'", True),
                // `(F and T) or (T and F)`.
                (
                    "os_name == 'nt' and sys_platform == 'linux' or os_name == 'posix' and sys_platform == 'win32'",
                    False,
                ),
                ("(sys_platform == 'linux' or sys_platform == 'win32') and os_name == 'nt'", False),
            ],
        );
    }

    #[test]
    fn parentheses_nest() {
        let marker = "(platform_machine == 'x86_64' and python_full_version >= '3.11') or implementation_name == 'pypy'";
        check(&env(None), &[(marker, True)]);
        let arm = MarkerEnv {
            machine: Some("aarch64".to_string()),
            ..env(None)
        };
        check(&arm, &[(marker, False)]);
        let unknown_machine = MarkerEnv {
            machine: None,
            ..env(None)
        };
        check(&unknown_machine, &[(marker, Unknown)]);
        check(
            &env(Some(2)),
            &[
                ("((sys_platform == 'linux'))", True),
                ("( ( sys_platform == 'linux' ) and ( os_name == 'posix' or extra == 'x' ) )", True),
                ("(sys_platform == 'win32' or (python_version >= '3.10' and (os_name == 'posix')))", True),
                ("(sys_platform=='linux')and(os_name=='posix')", True),
                ("sys_platform=='linux'and os_name=='nt'", False),
            ],
        );
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_unknown() {
        let nested = |depth: usize| {
            format!(
                "{}sys_platform == 'linux'{}",
                "(".repeat(depth),
                ")".repeat(depth)
            )
        };
        check(
            &env(None),
            &[
                (&nested(1), True),
                (&nested(super::MAX_DEPTH), True),
                (&nested(super::MAX_DEPTH + 1), Unknown),
                (&nested(100_000), Unknown),
            ],
        );
    }

    #[test]
    fn malformed_markers_are_unknown() {
        check(
            &env(None),
            &[
                ("(", Unknown),
                (")", Unknown),
                ("()", Unknown),
                ("(sys_platform == 'linux'", Unknown),
                ("sys_platform == 'linux')", Unknown),
                ("(sys_platform == 'linux'))", Unknown),
                ("sys_platform == 'linux'(", Unknown),
                ("sys_platform == 'linux", Unknown),
                ("sys_platform == \"linux'", Unknown),
                ("sys_platform == linux", Unknown),
                ("sys_platform 'linux'", Unknown),
                ("sys_platform ==", Unknown),
                ("sys_platform", Unknown),
                ("'linux'", Unknown),
                ("== 'linux'", Unknown),
                ("sys_platform = 'linux'", Unknown),
                ("sys_platform <== 'linux'", Unknown),
                ("sys_platform =! 'linux'", Unknown),
                ("sys_platform ~ 'linux'", Unknown),
                ("sys_platform not 'linux'", Unknown),
                ("sys_platform not not in 'linux'", Unknown),
                ("sys_platform in in 'linux'", Unknown),
                ("sys_platform == 'linux' and", Unknown),
                ("sys_platform == 'linux' or", Unknown),
                ("and sys_platform == 'linux'", Unknown),
                (
                    "sys_platform == 'linux' and and os_name == 'posix'",
                    Unknown,
                ),
                ("sys_platform == 'linux' sys_platform == 'linux'", Unknown),
                ("sys_platform == 'win32' and (", Unknown),
                ("sys_platform == 'linux' ; python_version > '3'", Unknown),
                ("sys_platform == 'linux' && os_name == 'posix'", Unknown),
                ("sys_platform == 'linux' ∧ os_name == 'posix'", Unknown),
                ("3.11 == python_version", Unknown),
                ("python_version == 3.11", Unknown),
                ("and == 'linux'", Unknown),
                ("not sys_platform == 'linux'", Unknown),
                // PEP 508 allows these, `uv.lock` never writes them.
                ("'linux' == 'linux'", Unknown),
                ("sys_platform == sys_platform", Unknown),
                // Malformed anywhere makes the whole marker unknown, even after a false `and`.
                ("sys_platform == 'win32' and ==", Unknown),
                ("sys_platform == 'linux' or )", Unknown),
            ],
        );
    }

    #[test]
    fn long_inputs_neither_panic_nor_take_long() {
        let env = env(None);
        let clause = "sys_platform == 'linux' and ";
        let long = clause.repeat(100_000 / clause.len());
        assert_eq!(evaluate(&long, &env), Unknown);
        assert_eq!(evaluate(&format!("{long}os_name == 'posix'"), &env), True);
        let or = "sys_platform == 'win32' or ".repeat(4_000);
        assert_eq!(evaluate(&format!("{or}os_name == 'nt'"), &env), False);
        let x = "x".repeat(100_000);
        assert_eq!(evaluate(&format!("sys_platform in '{x}'"), &env), False);
        assert_eq!(evaluate(&format!("sys_platform == \"{x}\""), &env), False);
        for input in [
            "(".repeat(100_000),
            ")".repeat(100_000),
            "'".repeat(100_000),
            "=".repeat(100_000),
            "a".repeat(100_000),
            "() ".repeat(33_333),
            format!("sys_platform in '{}", "x".repeat(100_000)),
            format!("python_full_version in '{}'", "3.11.".repeat(20_000)),
            format!("python_full_version < '3.11.{}'", "9".repeat(100_000)),
        ] {
            assert_eq!(evaluate(&input, &env), Unknown, "{}", &input[..20]);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn no_input_panics(marker in "\\PC{0,80}", patch in proptest::option::of(0u64..20)) {
            let _ = evaluate(&marker, &env(patch));
        }

        #[test]
        fn no_marker_of_marker_pieces_panics(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(", ")", " and ", " or ", " not ", " in ", "==", "!=", "<", "<=", ">", ">=",
                    "~=", "===", "'", "\"", "python_full_version", "python_version",
                    "sys_platform", "extra", "'3.11'", "'3.11.*'", "'3.11.4'", "'linux'", "'3'",
                    "'3.12rc1'", "",
                ]),
                0..24,
            ),
            patch in proptest::option::of(0u64..20),
        ) {
            let _ = evaluate(&pieces.concat(), &env(patch));
        }

        /// An unknown patch decides only what every known one agrees on.
        #[test]
        fn an_unknown_patch_agrees_with_every_known_one(
            variable in proptest::sample::select(vec!["python_full_version", "python_version"]),
            op in proptest::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "~="]),
            version in "(2|3|4)(\\.(0|1|9|10|11|12)){0,2}(\\.(0|1|3|4|5|9|10)){0,2}(\\.\\*)?",
            reversed in proptest::bool::ANY,
        ) {
            let marker = if reversed {
                format!("'{version}' {op} {variable}")
            } else {
                format!("{variable} {op} '{version}'")
            };
            let unknown = evaluate(&marker, &env(None));
            if unknown != Unknown {
                for patch in 0..30 {
                    proptest::prop_assert_eq!(evaluate(&marker, &env(Some(patch))), unknown, "{}", marker);
                }
            } else if !version.ends_with(".*") || !reversed {
                let known: Vec<_> =
                    (0..30).map(|patch| evaluate(&marker, &env(Some(patch)))).collect();
                proptest::prop_assert!(
                    known.contains(&Unknown) || known.iter().any(|&truth| truth != known[0]),
                    "{} is unknown but every patch says {:?}", marker, known
                );
            }
        }
    }

    /// The markers the example projects' `uv.lock` files hold: on dependency edges, and the
    /// resolution markers, of which exactly one holds in any environment.
    fn example_markers() -> Vec<(String, Vec<String>)> {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut locks = Vec::new();
        for entry in std::fs::read_dir(examples).unwrap() {
            let path = entry.unwrap().path().join("uv.lock");
            if let Ok(text) = std::fs::read_to_string(&path) {
                let lock: toml::Value = toml::from_str(&text).unwrap();
                let mut markers = Vec::new();
                collect_markers(&lock, &mut markers);
                locks.push((path.display().to_string(), markers));
            }
        }
        assert!(!locks.is_empty());
        locks
    }

    /// Every `marker = "..."` under `value`.
    fn collect_markers(value: &toml::Value, markers: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    match (key.as_str(), value) {
                        ("marker", toml::Value::String(marker)) => markers.push(marker.clone()),
                        _ => collect_markers(value, markers),
                    }
                }
            }
            toml::Value::Array(values) => values.iter().for_each(|v| collect_markers(v, markers)),
            _ => {}
        }
    }

    #[test]
    fn markers_of_the_example_locks_are_decided_without_the_patch() {
        let mut seen = 0;
        for (lock, markers) in example_markers() {
            for marker in &markers {
                for minor in 8..=16 {
                    let env = MarkerEnv {
                        python: (3, minor, None),
                        machine: None,
                    };
                    assert_ne!(evaluate(marker, &env), Unknown, "{marker:?} of {lock}");
                    seen += 1;
                }
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn exactly_one_resolution_marker_of_the_examples_holds() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let text = std::fs::read_to_string(examples.join("bigwheels/uv.lock")).unwrap();
        let lock: toml::Value = toml::from_str(&text).unwrap();
        let markers = lock["resolution-markers"].as_array().unwrap();
        assert!(markers.len() > 1);
        for minor in 8..=16 {
            let env = MarkerEnv {
                python: (3, minor, None),
                machine: None,
            };
            let holding: Vec<_> = markers
                .iter()
                .filter(|m| evaluate(m.as_str().unwrap(), &env) == True)
                .collect();
            assert_eq!(holding.len(), 1, "3.{minor}: {holding:?}");
        }
    }

    #[test]
    fn real_uv_lock_markers() {
        let py311 = env(None);
        let py312 = MarkerEnv {
            python: (3, 12, None),
            ..env(None)
        };
        let py314 = MarkerEnv {
            python: (3, 14, Some(1)),
            ..env(None)
        };
        let cases = [
            ("python_full_version < '3.12'", [True, False, False]),
            ("python_full_version >= '3.12'", [False, True, True]),
            ("python_full_version < '3.13'", [True, True, False]),
            ("python_full_version < '3.15'", [True, True, True]),
            ("sys_platform == 'win32'", [False, False, False]),
            ("sys_platform == 'emscripten' or sys_platform == 'win32'", [False, False, False]),
            (
                "python_full_version >= '3.12' and python_full_version < '3.14' and sys_platform != 'emscripten' and sys_platform != 'win32'",
                [False, True, False],
            ),
            (
                "python_full_version >= '3.14' and sys_platform != 'emscripten' and sys_platform != 'win32'",
                [False, False, True],
            ),
            ("python_full_version < '3.12' and sys_platform == 'emscripten'", [False, False, False]),
            ("platform_machine == 'x86_64' and sys_platform == 'linux'", [True, True, True]),
            (
                "(platform_machine == 'aarch64' and sys_platform == 'linux') or (platform_machine == 'x86_64' and sys_platform == 'linux')",
                [True, True, True],
            ),
            ("platform_python_implementation != 'PyPy'", [True, True, True]),
            ("implementation_name != 'pypy' and python_full_version < '3.14'", [True, True, False]),
            ("python_full_version == '3.12.*'", [False, True, False]),
            ("extra == 'project-7-example-cpu'", [Unknown, Unknown, Unknown]),
            (
                "sys_platform == 'darwin' and extra == 'project-7-example-cpu'",
                [False, False, False],
            ),
            ("sys_platform != 'darwin' or extra != 'project-7-example-cpu'", [True, True, True]),
        ];
        for (marker, expected) in cases {
            for (env, expected) in [&py311, &py312, &py314].into_iter().zip(expected) {
                assert_eq!(evaluate(marker, env), expected, "{marker:?} in {env:?}");
            }
        }
    }
}
