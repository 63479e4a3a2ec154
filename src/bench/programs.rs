//! The benchmark programs: the files of `benches/som/` embedded in the binary (see `build.rs`),
//! and any `.som` file named on the command line. A program is a class that inherits from
//! `Benchmark`: `benchmark` answers the result of one run and `verifyResult:` says whether it is
//! right, and `innerBenchmarkLoop: n` runs it n times and answers false at the first wrong
//! result.

use smalt_vm::compiler::{self, SuperclassRef};
use smalt_vm::{Vm, VmError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/bench_programs.rs"));
}

/// A source file: where it comes from, its text, the class it defines and its superclass.
#[derive(Clone, Debug)]
pub struct Source {
    /// `benches/som/Name.som` for the embedded files, the path for others.
    pub file: String,
    /// The text.
    pub text: String,
    /// The class it defines.
    pub class: String,
    /// Its superclass's name (`None` for `Object` or nil).
    pub superclass: Option<String>,
}

/// The sources a benchmark run loads: the embedded files and the user's.
#[derive(Clone, Debug, Default)]
pub struct Suite {
    /// Every file, superclasses before their subclasses.
    pub sources: Vec<Source>,
    /// The directories of the user's files, searched for the classes they use.
    pub class_path: Vec<PathBuf>,
}

impl Suite {
    /// The embedded programs.
    pub fn embedded() -> Result<Suite, String> {
        let mut suite = Suite::default();
        for (name, text) in embedded::FILES {
            suite.add(format!("benches/som/{name}"), text.to_string())?;
        }
        suite.order();
        Ok(suite)
    }

    /// Adds a `.som` file from disk (a benchmark of the user's); its directory joins the class
    /// path. Answers the class it defines.
    pub fn add_file(&mut self, path: &Path) -> Result<String, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        self.class_path.push(dir.to_path_buf());
        let class = self.add(path.display().to_string(), text)?;
        self.order();
        Ok(class)
    }

    fn add(&mut self, file: String, text: String) -> Result<String, String> {
        let def = compiler::parse_class(&file, &text).map_err(|e| e.to_string())?;
        let superclass = match def.superclass {
            SuperclassRef::Named(s) => Some(s),
            SuperclassRef::Default | SuperclassRef::Nil => None,
        };
        // A file of the user's replaces an embedded one of the same class.
        self.sources.retain(|s| s.class != def.name);
        self.sources.push(Source {
            file,
            text,
            class: def.name.clone(),
            superclass,
        });
        Ok(def.name)
    }

    /// Sorts the sources so that superclasses come first (by name otherwise).
    fn order(&mut self) {
        let depth: HashMap<&str, usize> = self
            .sources
            .iter()
            .map(|s| (s.class.as_str(), self.depth_of(&s.class)))
            .collect();
        let mut sorted = self.sources.clone();
        sorted.sort_by(|a, b| {
            depth[a.class.as_str()]
                .cmp(&depth[b.class.as_str()])
                .then_with(|| a.class.cmp(&b.class))
        });
        self.sources = sorted;
    }

    fn source(&self, class: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.class == class)
    }

    /// How many of the suite's classes are above `class` (at most the number of sources, so a
    /// cycle ends).
    fn depth_of(&self, class: &str) -> usize {
        let mut d = 0;
        let mut c = self.source(class).and_then(|s| s.superclass.clone());
        while let Some(name) = c {
            if d > self.sources.len() {
                break;
            }
            d += 1;
            c = self.source(&name).and_then(|s| s.superclass.clone());
        }
        d
    }

    /// Whether `class` follows the Benchmark convention (inherits from `Benchmark`).
    pub fn is_benchmark(&self, class: &str) -> bool {
        let mut c = self.source(class).and_then(|s| s.superclass.clone());
        let mut steps = 0;
        while let Some(name) = c {
            if name == "Benchmark" {
                return true;
            }
            steps += 1;
            if steps > self.sources.len() {
                return false;
            }
            c = self.source(&name).and_then(|s| s.superclass.clone());
        }
        false
    }

    /// The names of the benchmark programs, sorted.
    pub fn programs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .sources
            .iter()
            .filter(|s| self.is_benchmark(&s.class))
            .map(|s| s.class.clone())
            .collect();
        v.sort();
        v
    }

    /// Loads every source into `vm`, superclasses first.
    pub fn load_into(&self, vm: &mut Vm) -> Result<(), VmError> {
        vm.options
            .class_path
            .extend(self.class_path.iter().cloned());
        for s in &self.sources {
            vm.load_class_source(&s.text, &s.file)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_benchmark_file_on_disk_is_embedded_and_found() {
        let suite = Suite::embedded().unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/som");
        let on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "som").then(|| p.file_stem().unwrap().to_string_lossy().into())
            })
            .collect();
        assert_eq!(suite.sources.len(), on_disk.len());
        for class in &on_disk {
            let text = std::fs::read_to_string(dir.join(format!("{class}.som"))).unwrap();
            if text.contains("= Benchmark (") {
                assert!(suite.programs().contains(class), "{class} is a program");
            }
        }
        for p in ["Sieve", "Richards", "NBody"] {
            assert!(suite.programs().iter().any(|q| q == p), "{p} is a program");
        }
        assert!(
            !suite
                .programs()
                .iter()
                .any(|q| q == "Benchmark" || q == "BenchRunner")
        );
    }

    #[test]
    fn superclasses_load_first() {
        let suite = Suite::embedded().unwrap();
        let pos = |c: &str| suite.sources.iter().position(|s| s.class == c).unwrap();
        assert!(pos("Benchmark") < pos("Sieve"));
        assert!(pos("RichardsTask") < pos("RichardsWorkerTask"));
        let mut vm = Vm::new(smalt_vm::VmOptions::default()).unwrap();
        suite.load_into(&mut vm).unwrap();
        assert!(vm.global("RichardsWorkerTask").is_some());
    }
}
