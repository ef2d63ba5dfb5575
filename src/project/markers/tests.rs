//! The marker evaluation's three-valued answers, case by case.

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
            (
                "( ( sys_platform == 'linux' ) and ( os_name == 'posix' or extra == 'x' ) )",
                True,
            ),
            (
                "(sys_platform == 'win32' or (python_version >= '3.10' and (os_name == 'posix')))",
                True,
            ),
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
