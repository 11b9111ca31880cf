//! Why a component does not fit the world it was loaded as, in words an operator can act on.
//!
//! wasmtime's own message names the first import or export that failed to match, which says
//! little to someone who loaded a router as a filter or a plugin built against last release's
//! WIT. So the component's `sluice:plugin` exports are read first: another version of the
//! package, or another world's interface, is named as such, with what this broker expected.
use wasmtime::Engine;
use wasmtime::component::Component;

/// The package every world belongs to, without its version.
const PACKAGE: &str = "sluice:plugin";

/// Each world and the interface it exports.
const WORLD_EXPORTS: &[(&str, &str)] = &[
    ("codec", "protocol"),
    ("router", "routing"),
    ("filter", "filtering"),
];

/// Explains why `component` is not a `world` (e.g. `sluice:plugin/filter@0.5.0`);
/// `linker_detail` is wasmtime's message, used when nothing clearer is found.
pub(crate) fn explain(
    engine: &Engine,
    component: &Component,
    world: &str,
    linker_detail: &str,
) -> String {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    explain_exports(&exports, world).unwrap_or_else(|| linker_detail.to_owned())
}

/// The explanation from the export names alone, when they tell one.
fn explain_exports(exports: &[String], world: &str) -> Option<String> {
    let (world_path, expected_version) = world.split_once('@')?;
    let world_name = world_path.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    let expected_interface = WORLD_EXPORTS
        .iter()
        .find(|(w, _)| *w == world_name)
        .map(|(_, i)| *i)?;
    let expected_export = format!("{PACKAGE}/{expected_interface}@{expected_version}");
    let ours: Vec<(&str, &str)> = exports
        .iter()
        .filter_map(|e| e.strip_prefix(PACKAGE)?.strip_prefix('/')?.split_once('@'))
        .collect();
    if ours.is_empty() {
        let listed = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports.join(", ")
        };
        return Some(format!(
            "it exports no {PACKAGE} interface (it exports {listed}); a {world_name} exports \
             {expected_export}"
        ));
    }
    if let Some((_, version)) = ours
        .iter()
        .find(|(i, v)| *i == expected_interface && *v != expected_version)
    {
        return Some(format!(
            "it was built for {PACKAGE}@{version} (it exports \
             {PACKAGE}/{expected_interface}@{version}), and this broker speaks \
             {PACKAGE}@{expected_version}: rebuild it against this broker's wit/ or SDK"
        ));
    }
    if !ours.iter().any(|(i, _)| *i == expected_interface) {
        let (interface, version) = ours.first()?;
        let other = WORLD_EXPORTS
            .iter()
            .find(|(_, i)| i == interface)
            .map_or("plugin of another kind", |(w, _)| *w);
        return Some(format!(
            "it is a {other} (it exports {PACKAGE}/{interface}@{version}), not a {world_name}, \
             which exports {expected_export}"
        ));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::explain_exports;

    const FILTER: &str = "sluice:plugin/filter@0.5.0";

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn another_version_of_the_package_is_named_with_the_expected_one() {
        let message = explain_exports(&names(&["sluice:plugin/filtering@0.4.0"]), FILTER).unwrap();
        assert!(
            message.contains("built for sluice:plugin@0.4.0"),
            "{message}"
        );
        assert!(message.contains("speaks sluice:plugin@0.5.0"), "{message}");
    }

    #[test]
    fn another_kind_of_plugin_is_named_as_such() {
        let message = explain_exports(&names(&["sluice:plugin/routing@0.5.0"]), FILTER).unwrap();
        assert!(message.contains("it is a router"), "{message}");
        assert!(
            message.contains("sluice:plugin/filtering@0.5.0"),
            "{message}"
        );
    }

    #[test]
    fn a_component_exporting_nothing_of_ours_is_told_what_to_export() {
        let message = explain_exports(&names(&["wasi:cli/run@0.2.0"]), FILTER).unwrap();
        assert!(
            message.contains("exports no sluice:plugin interface"),
            "{message}"
        );
        assert!(message.contains("wasi:cli/run@0.2.0"), "{message}");
    }

    #[test]
    fn the_right_export_leaves_the_linker_to_explain() {
        let exports = names(&["sluice:plugin/filtering@0.5.0"]);
        assert_eq!(explain_exports(&exports, FILTER), None);
    }
}
