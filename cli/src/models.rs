//! `animecam models`: the model sets, their files and checksums, and where each graph would run.

use std::path::Path;

use animecam::inference::{Manifest, Model, ProviderOptions};

pub fn run(dir: &Path, options: &ProviderOptions) -> i32 {
    let mut sets: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("manifest.json").is_file())
        .collect();
    sets.sort();
    if sets.is_empty() {
        eprintln!(
            "error: no model sets (folders with a manifest.json) in {}; run `make setup`, or pass --models",
            dir.display()
        );
        return 1;
    }
    let mut problems = 0;
    let mut fixtures = Vec::new();
    for set in sets {
        let manifest = match Manifest::load(&set) {
            // Graphs made for the tests are not the user's model sets.
            Ok(manifest) if manifest.test_fixture => {
                fixtures.push(manifest.name);
                continue;
            }
            Ok(manifest) => manifest,
            Err(e) => {
                problems += 1;
                println!("{}: {e}", set.display());
                continue;
            }
        };
        println!(
            "{} ({}): {}",
            manifest.name,
            set.display(),
            manifest.description
        );
        for (id, spec) in &manifest.models {
            let state = match manifest.verify(spec) {
                Err(e) => {
                    problems += 1;
                    format!("PROBLEM: {e}")
                }
                Ok(()) => match Model::load(&manifest, id, options) {
                    Ok(model) => format!("sha256 ok, runs on {}", model.provider()),
                    Err(e) => {
                        problems += 1;
                        format!("PROBLEM: {e}")
                    }
                },
            };
            println!("  {id:<16} {:<36} {state}", spec.file);
            println!("  {:<16} from {}", "", spec.provenance.source);
        }
    }
    if !fixtures.is_empty() {
        println!("(not listed: the test fixtures {})", fixtures.join(", "));
    }
    i32::from(problems > 0)
}
