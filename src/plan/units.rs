//! The dependency phase as package units: which packages share a layer.

use super::{InstallUnitsStep, Step, UnitLayer};
use crate::settings::{PackageUnits, Settings};

/// Small packages share this many layers at most, each package's layer chosen by its name alone:
/// a package added or removed changes one of them, and an image of many packages stays far from
/// the layer limits of storage drivers.
pub const SMALL_PACKAGE_LAYERS: u64 = 8;

/// The layers of the venv: each big package's own (as [`own_layer_packages`] picks them from
/// the lock's download sizes), then the small packages' shared ones, in a fixed order.
///
/// [`own_layer_packages`]: crate::settings::own_layer_packages
pub fn unit_layers(units: &PackageUnits) -> Vec<UnitLayer> {
    let sizes = units
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.size))
        .collect();
    let own = crate::settings::own_layer_packages(&sizes);
    let mut layers: Vec<UnitLayer> = own
        .iter()
        .map(|name| UnitLayer {
            label: name.clone(),
            packages: vec![name.clone()],
        })
        .collect();
    let mut shared: Vec<Vec<String>> = vec![Vec::new(); SMALL_PACKAGE_LAYERS as usize];
    for package in units.packages.iter().filter(|p| !own.contains(&p.name)) {
        shared[(fnv1a(&package.name) % SMALL_PACKAGE_LAYERS) as usize].push(package.name.clone());
    }
    layers.extend(
        shared
            .into_iter()
            .filter(|packages| !packages.is_empty())
            .map(|packages| UnitLayer {
                label: super::short_list(&packages, " "),
                packages,
            }),
    );
    layers
}

/// FNV-1a, 64 bits: a hash that is the same in every build and on every machine.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Phase 1 as units: every package of the venv a step of its own, stacked in layers.
pub fn install_units(s: &Settings, units: &PackageUnits) -> Step {
    let (uid, gid) = s.run.files_owner();
    Step::InstallUnits(InstallUnitsStep {
        name: format!(
            "{} locked {} into {}, each on its own",
            units.packages.len(),
            if units.packages.len() == 1 {
                "package"
            } else {
                "packages"
            },
            s.venv
        ),
        venv: s.venv.clone(),
        units: units.clone(),
        layers: unit_layers(units),
        uid,
        gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::UnitPackage;

    fn units(packages: &[(&str, u64)]) -> PackageUnits {
        PackageUnits {
            python: "3.11".into(),
            index_url: crate::settings::PYPI.into(),
            packages: packages
                .iter()
                .map(|(name, size)| UnitPackage {
                    name: name.to_string(),
                    version: "1.0".into(),
                    hashes: vec!["sha256:00".into()],
                    size: *size,
                })
                .collect(),
        }
    }

    #[test]
    fn a_package_added_changes_one_shared_layer_and_no_big_one() {
        let before = unit_layers(&units(&[
            ("numpy", 20 << 20),
            ("pandas", 12 << 20),
            ("six", 10_000),
            ("pytz", 500_000),
            ("tzdata", 300_000),
            ("python-dateutil", 200_000),
        ]));
        let after = unit_layers(&units(&[
            ("numpy", 20 << 20),
            ("pandas", 12 << 20),
            ("six", 10_000),
            ("pytz", 500_000),
            ("tzdata", 300_000),
            ("python-dateutil", 200_000),
            ("packaging", 60_000),
        ]));
        assert_eq!(before[0].packages, ["numpy"]);
        assert_eq!(before[1].packages, ["pandas"]);
        let changed: Vec<&UnitLayer> = after.iter().filter(|l| !before.contains(l)).collect();
        assert_eq!(changed.len(), 1, "{after:?}");
        assert!(changed[0].packages.contains(&"packaging".to_string()));
        assert!(after.len() <= 2 + SMALL_PACKAGE_LAYERS as usize);
    }

    #[test]
    fn the_layer_hash_is_fixed() {
        // FNV-1a's published test vector: no process or platform changes where a package goes.
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
