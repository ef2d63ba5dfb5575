//! Which files of a built venv go to which layer of the runtime image: the big packages'
//! top-level entries in site-packages, each package in a layer of its own, and the rest.
//!
//! The venv's layout (its `lib/pythonX.Y` directory, the packages' top-level names) is known only
//! once the dependency phase has run, so it is read from that phase's result; every entry of
//! the venv lands in exactly one layer, and anything unexpected gives one layer for all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::gateway::{Bridge, DirEntry};

/// Paths relative to the venv, by layer. Every entry of the venv is in exactly one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VenvLayout {
    /// Each package with a layer of its own, and its top-level entries of site-packages
    /// (`lib/python3.11/site-packages/numpy`); a package that is not installed has none.
    pub own: Vec<(String, Vec<String>)>,
    /// Everything else: the venv's other entries, and site-packages entries of no own layer.
    pub rest: Vec<String>,
}

/// A venv's directories as listed, from the venv down to site-packages.
#[derive(Clone, Debug, Default)]
pub struct VenvListing {
    pub root: Vec<DirEntry>,
    pub lib: Vec<DirEntry>,
    /// `lib/pythonX.Y`, its name and its entries.
    pub python_dir: (String, Vec<DirEntry>),
    pub site_packages: Vec<DirEntry>,
    /// `RECORD` of each own-layer package's `.dist-info`, by package.
    pub records: BTreeMap<String, String>,
}

/// PEP 503 normalized name: `Python_Dateutil` and `python-dateutil` are one package.
fn normalized(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The `.dist-info` entry of `package` in site-packages (`numpy-2.4.6.dist-info`).
pub fn dist_info_of<'a>(site_packages: &'a [DirEntry], package: &str) -> Option<&'a str> {
    site_packages
        .iter()
        .filter(|e| e.is_dir())
        .map(|e| e.name.as_str())
        .find(|name| {
            name.strip_suffix(".dist-info")
                .and_then(|stem| stem.split_once('-'))
                .is_some_and(|(dist, _)| normalized(dist) == normalized(package))
        })
}

/// The top-level entries of site-packages a `RECORD` lists files under. `__pycache__` is
/// shared by every single-module package, and `../` paths (scripts in `bin/`) are outside
/// site-packages: neither is one package's.
fn top_level_of(record: &str) -> BTreeSet<String> {
    record
        .lines()
        .filter_map(|line| {
            let path = line.split(',').next()?.trim().trim_matches('"');
            let first = path.split('/').next()?;
            (!first.is_empty() && first != ".." && first != "__pycache__").then(|| first.into())
        })
        .collect()
}

/// The layout of a venv, from its listing: every entry of site-packages that exactly one own
/// package's RECORD claims goes to that package's layer; all else to the rest.
pub fn layout_of(listing: &VenvListing, packages: &[String]) -> VenvLayout {
    let (python_dir, python_entries) = &listing.python_dir;
    let site = format!("lib/{python_dir}/site-packages");
    let present: BTreeSet<&str> = listing
        .site_packages
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let claims: Vec<(String, BTreeSet<String>)> = packages
        .iter()
        .map(|package| {
            let claimed = listing
                .records
                .get(package)
                .map(|record| top_level_of(record))
                .unwrap_or_default()
                .into_iter()
                .filter(|entry| present.contains(entry.as_str()))
                .collect();
            (package.clone(), claimed)
        })
        .collect();
    let mut claimed_by: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, entries) in &claims {
        for entry in entries {
            *claimed_by.entry(entry.as_str()).or_default() += 1;
        }
    }
    let own: Vec<(String, Vec<String>)> = claims
        .iter()
        .map(|(package, entries)| {
            let paths = entries
                .iter()
                .filter(|e| claimed_by.get(e.as_str()) == Some(&1))
                .map(|e| format!("{site}/{e}"))
                .collect();
            (package.clone(), paths)
        })
        .collect();
    let mut rest: Vec<String> = Vec::new();
    rest.extend(
        listing
            .root
            .iter()
            .filter(|e| e.name != "lib")
            .map(|e| e.name.clone()),
    );
    rest.extend(
        listing
            .lib
            .iter()
            .filter(|e| &e.name != python_dir)
            .map(|e| format!("lib/{}", e.name)),
    );
    rest.extend(
        python_entries
            .iter()
            .filter(|e| e.name != "site-packages")
            .map(|e| format!("lib/{python_dir}/{}", e.name)),
    );
    rest.extend(
        listing
            .site_packages
            .iter()
            .filter(|e| claimed_by.get(e.name.as_str()) != Some(&1))
            .map(|e| format!("{site}/{}", e.name)),
    );
    rest.sort();
    VenvLayout { own, rest }
}

/// Reads the listing of the venv at `venv` in the solved `reference` and lays it out for
/// `packages`. An error means the venv is not laid out as expected (no single `lib/pythonX.Y`,
/// no site-packages): the caller copies it as one layer.
pub async fn read<B: Bridge>(
    bridge: &B,
    reference: &str,
    venv: &str,
    packages: &[String],
) -> anyhow::Result<VenvLayout> {
    let root = bridge.read_dir(reference, venv).await?;
    let lib = bridge.read_dir(reference, &format!("{venv}/lib")).await?;
    let pythons: Vec<&DirEntry> = lib
        .iter()
        .filter(|e| e.is_dir() && e.name.starts_with("python"))
        .collect();
    let [python] = pythons.as_slice() else {
        anyhow::bail!("{venv}/lib holds {} python directories", pythons.len());
    };
    let python_name = python.name.clone();
    let python_dir = format!("{venv}/lib/{python_name}");
    let python_entries = bridge.read_dir(reference, &python_dir).await?;
    if !python_entries
        .iter()
        .any(|e| e.name == "site-packages" && e.is_dir())
    {
        anyhow::bail!("{python_dir} has no site-packages");
    }
    let site_dir = format!("{python_dir}/site-packages");
    let site_packages = bridge.read_dir(reference, &site_dir).await?;
    let mut records = BTreeMap::new();
    for package in packages {
        if let Some(dist_info) = dist_info_of(&site_packages, package) {
            let record = bridge
                .read_file(reference, &format!("{site_dir}/{dist_info}/RECORD"))
                .await?;
            records.insert(
                package.clone(),
                String::from_utf8_lossy(&record).into_owned(),
            );
        }
    }
    let listing = VenvListing {
        root,
        lib,
        python_dir: (python_name, python_entries),
        site_packages,
        records,
    };
    Ok(layout_of(&listing, packages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[&str]) -> Vec<DirEntry> {
        entries
            .iter()
            .map(|n| {
                if n.contains('.') && !n.ends_with("dist-info") && !n.ends_with(".libs") {
                    DirEntry::file(n)
                } else {
                    DirEntry::dir(n)
                }
            })
            .collect()
    }

    fn listing() -> VenvListing {
        VenvListing {
            root: [
                names(&["bin", "lib", "pyvenv.cfg", "CACHEDIR.TAG"]),
                vec![DirEntry::symlink("lib64", "lib")],
            ]
            .concat(),
            lib: names(&["python3.11"]),
            python_dir: ("python3.11".into(), names(&["site-packages"])),
            site_packages: names(&[
                "__pycache__",
                "_virtualenv.pth",
                "dateutil",
                "numpy",
                "numpy-2.4.6.dist-info",
                "numpy.libs",
                "python_dateutil-2.9.0.post0.dist-info",
                "six-1.17.0.dist-info",
                "six.py",
            ]),
            records: [
                (
                    "numpy".to_string(),
                    "numpy/__init__.py,sha256=x,1\nnumpy/core/a.py,sha256=y,2\n\
                     numpy.libs/libopenblas.so,sha256=z,3\nnumpy-2.4.6.dist-info/RECORD,,\n\
                     ../../../bin/f2py,sha256=w,4\n"
                        .to_string(),
                ),
                (
                    "python-dateutil".to_string(),
                    "dateutil/__init__.py,,\n\"dateutil/a,b.py\",,\n\
                     python_dateutil-2.9.0.post0.dist-info/RECORD,,\n__pycache__/x.pyc,,\n"
                        .to_string(),
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn each_own_package_gets_exactly_its_top_level_entries_and_the_rest_gets_everything_else() {
        let packages = ["numpy".to_string(), "python-dateutil".to_string()];
        let layout = layout_of(&listing(), &packages);
        let sp = "lib/python3.11/site-packages";
        assert_eq!(
            layout.own,
            [
                (
                    "numpy".to_string(),
                    vec![
                        format!("{sp}/numpy"),
                        format!("{sp}/numpy-2.4.6.dist-info"),
                        format!("{sp}/numpy.libs")
                    ]
                ),
                (
                    "python-dateutil".to_string(),
                    vec![
                        format!("{sp}/dateutil"),
                        format!("{sp}/python_dateutil-2.9.0.post0.dist-info")
                    ]
                ),
            ]
        );
        assert_eq!(
            layout.rest,
            [
                "CACHEDIR.TAG".to_string(),
                "bin".into(),
                format!("{sp}/__pycache__"),
                format!("{sp}/_virtualenv.pth"),
                format!("{sp}/six-1.17.0.dist-info"),
                format!("{sp}/six.py"),
                "lib64".into(),
                "pyvenv.cfg".into(),
            ]
        );
    }

    #[test]
    fn an_entry_two_own_packages_claim_goes_to_the_rest() {
        let mut listing = listing();
        listing.records.insert(
            "python-dateutil".into(),
            "dateutil/a.py,,\nnumpy.libs/shared.so,,\n".into(),
        );
        let layout = layout_of(&listing, &["numpy".into(), "python-dateutil".into()]);
        let sp = "lib/python3.11/site-packages";
        assert!(!layout.own[0].1.contains(&format!("{sp}/numpy.libs")));
        assert!(!layout.own[1].1.contains(&format!("{sp}/numpy.libs")));
        assert!(layout.rest.contains(&format!("{sp}/numpy.libs")));
    }

    #[test]
    fn a_package_without_a_record_or_not_installed_gets_nothing() {
        let layout = layout_of(&listing(), &["pandas".into()]);
        assert_eq!(layout.own, [("pandas".to_string(), vec![])]);
        assert!(layout
            .rest
            .contains(&"lib/python3.11/site-packages/numpy".to_string()));
    }

    #[test]
    fn dist_info_names_are_matched_normalized() {
        let sp = listing().site_packages;
        assert_eq!(
            dist_info_of(&sp, "Python_Dateutil"),
            Some("python_dateutil-2.9.0.post0.dist-info")
        );
        assert_eq!(dist_info_of(&sp, "numpy"), Some("numpy-2.4.6.dist-info"));
        assert_eq!(dist_info_of(&sp, "pandas"), None);
    }
}
