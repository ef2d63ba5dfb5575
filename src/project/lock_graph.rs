//! Every `[[package]]` of `uv.lock` with its dependency edges and its files' hashes: what it
//! takes to say which locked packages a venv gets, and to install one of them on its own.

use std::collections::BTreeMap;

/// One `[[package]]` of `uv.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// `source = { registry = "<url>" }`'s index URL; `None` for any other source (the
    /// workspace, a path, git, a direct URL).
    pub registry: Option<String>,
    /// The path of a package of the workspace (`source = { editable | virtual | directory =
    /// "<path>" }`, `.` for the root project).
    pub local_path: Option<String>,
    /// `dependencies`.
    pub dependencies: Vec<Edge>,
    /// `[package.optional-dependencies]`, by extra.
    pub optional: BTreeMap<String, Vec<Edge>>,
    /// `[package.dev-dependencies]`, by dependency group.
    pub groups: BTreeMap<String, Vec<Edge>>,
    /// The `sha256:...` hashes of its wheels and sdist, in the lock's order.
    pub hashes: Vec<String>,
    /// The largest download (wheel, else sdist), in bytes: how much it weighs in the venv.
    pub size: u64,
}

/// One `{ name = ..., version = ..., marker = ..., extra = [...] }` of a dependency list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edge {
    pub name: String,
    /// Given when the lock holds several versions of the package (a forked resolution).
    pub version: Option<String>,
    pub marker: Option<String>,
    /// The extras of the dependency that are asked for.
    pub extras: Vec<String>,
}

/// Every `[[package]]` of a parsed `uv.lock`, in the lock's order; one without a name is left out.
pub fn packages_of(doc: &toml::Table) -> Vec<LockedPackage> {
    doc.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(package_of)
        .collect()
}

fn package_of(package: &toml::Value) -> Option<LockedPackage> {
    let text = |key: &str| {
        package
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let registry = package
        .get("source")
        .and_then(|s| s.get("registry"))
        .and_then(|r| r.as_str())
        .map(str::to_string);
    let local_path = ["editable", "virtual", "directory"].iter().find_map(|key| {
        let path = package.get("source")?.get(*key)?.as_str()?;
        Some(path.to_string())
    });
    let mut hashes: Vec<String> = package
        .get("wheels")
        .and_then(|w| w.as_array())
        .into_iter()
        .flatten()
        .chain(package.get("sdist"))
        .filter_map(|file| Some(file.get("hash")?.as_str()?.to_string()))
        .collect();
    hashes.dedup();
    Some(LockedPackage {
        name: text("name")?,
        version: text("version").unwrap_or_default(),
        registry,
        local_path,
        dependencies: package
            .get("dependencies")
            .map(edges_of)
            .unwrap_or_default(),
        optional: edge_tables(package.get("optional-dependencies")),
        groups: edge_tables(package.get("dev-dependencies")),
        hashes,
        size: super::lock::largest_download(package),
    })
}

fn edge_tables(table: Option<&toml::Value>) -> BTreeMap<String, Vec<Edge>> {
    table
        .and_then(|t| t.as_table())
        .into_iter()
        .flatten()
        .map(|(key, list)| (key.clone(), edges_of(list)))
        .collect()
}

fn edges_of(list: &toml::Value) -> Vec<Edge> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| {
            let text = |key: &str| edge.get(key).and_then(|v| v.as_str()).map(str::to_string);
            Some(Edge {
                name: text("name")?,
                version: text("version"),
                marker: text("marker"),
                extras: edge
                    .get("extra")
                    .and_then(|e| e.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_hashes_and_tables_are_read() {
        let doc: toml::Table = toml::from_str(
            r#"
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "numpy", version = "2.4.6", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.12'" },
    { name = "uvicorn", extra = ["standard"] },
]
[package.optional-dependencies]
cli = [{ name = "click" }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "numpy"
version = "2.4.6"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/numpy-2.4.6.tar.gz", hash = "sha256:aa", size = 10 }
wheels = [{ url = "https://x/numpy-2.4.6-a.whl", hash = "sha256:bb", size = 20 }]
"#,
        )
        .unwrap();
        let packages = packages_of(&doc);
        assert_eq!(packages.len(), 2);
        let app = &packages[0];
        assert_eq!(app.registry, None);
        assert_eq!(app.local_path.as_deref(), Some("."));
        assert_eq!(app.dependencies[0].version.as_deref(), Some("2.4.6"));
        assert_eq!(
            app.dependencies[0].marker.as_deref(),
            Some("python_full_version < '3.12'")
        );
        assert_eq!(app.dependencies[1].extras, ["standard"]);
        assert_eq!(app.optional["cli"][0].name, "click");
        assert_eq!(app.groups["dev"][0].name, "pytest");
        let numpy = &packages[1];
        assert_eq!(numpy.registry.as_deref(), Some("https://pypi.org/simple"));
        assert_eq!(numpy.hashes, ["sha256:bb", "sha256:aa"]);
        assert_eq!(numpy.size, 20);
    }
}
