//! `animecam models`: the model sets, their files and checksums, and where each graph would run.

use std::path::{Path, PathBuf};

use animecam::inference::{inspect_int8_set, Int8Set, Manifest, Model, Precision, ProviderOptions};

use animecam::model_sets::{self, KnownSet};

use crate::args::ProviderArg;
use crate::failure::Failure;

pub fn run(models: Option<PathBuf>, provider: ProviderArg) -> Result<(), Failure> {
    let dir = models.unwrap_or_else(animecam::model_sets::models_dir);
    let options = ProviderOptions {
        provider: provider.into(),
        ..ProviderOptions::default()
    };
    match check(&dir, &options) {
        0 => Ok(()),
        // Each problem was printed with its fix.
        _ => Err(Failure::from("")),
    }
}

fn check(dir: &Path, options: &ProviderOptions) -> i32 {
    let folders = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .collect()
    };
    // Style networks are imported one set each under styles/.
    let mut sets: Vec<_> = folders(dir)
        .into_iter()
        .chain(folders(&dir.join(model_sets::STYLES_DIR)))
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
            "{} ({}, {}): {}",
            manifest.name,
            set.display(),
            manifest.precision,
            manifest.description
        );
        for (id, spec) in &manifest.models {
            let state = match manifest.verify(spec) {
                Err(e) => {
                    problems += 1;
                    format!("PROBLEM: {e}")
                }
                Ok(()) => match Model::load(&manifest, id, options) {
                    Ok(model) => {
                        let precision = spec.precision.unwrap_or(manifest.precision);
                        let quality = spec
                            .quality
                            .as_ref()
                            .map(|quality| format!(" ({quality})"))
                            .unwrap_or_default();
                        format!(
                            "sha256 ok, runs on {}, {precision}{quality}",
                            model.provider()
                        )
                    }
                    Err(e) => {
                        problems += 1;
                        format!("PROBLEM: {e}")
                    }
                },
            };
            println!("  {id:<16} {:<36} {state}", spec.file);
            println!("  {:<16} from {}", "", spec.provenance.source);
        }
        let quantisable = KnownSet::like(&manifest).is_some_and(|known| known.has_int8);
        if manifest.precision == Precision::Fp32 {
            // The same verdict precision=int8 and auto reach when an element starts.
            match inspect_int8_set(&set) {
                Int8Set::Absent if quantisable => println!(
                    "  no int8 set beside it (int8 runs about twice as fast on CPUs): make int8-models, or python -m animecam_models.quantize --models {}",
                    set.display()
                ),
                Int8Set::Broken(broken) => {
                    problems += 1;
                    println!(
                        "  PROBLEM: {} (precision auto runs fp32 meanwhile); {}",
                        broken.cause(),
                        broken.remedy()
                    );
                }
                Int8Set::Absent | Int8Set::Ready(_) => {}
            }
        }
    }
    if !fixtures.is_empty() {
        println!("(not listed: the test fixtures {})", fixtures.join(", "));
    }
    i32::from(problems > 0)
}
