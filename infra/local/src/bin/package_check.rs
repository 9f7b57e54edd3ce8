//! `make package`'s last step: compares `.aws-sam/build` (what `sam build` made) with
//! `template.yaml` (`local_stack::package_check`) and prints each function's binary and
//! `bootstrap` size; exits 1 naming every problem.

use std::path::Path;
use std::process::ExitCode;

use local_stack::package_check;
use local_stack::template::Template;

fn main() -> ExitCode {
    let template = match Template::load(&local_stack::template_path()) {
        Ok(template) => template,
        Err(error) => {
            eprintln!("package check: template.yaml: {error}");
            return ExitCode::FAILURE;
        }
    };
    match package_check::check(&template, Path::new(".aws-sam/build")) {
        Ok(functions) => {
            println!("package check: .aws-sam/build has every function of template.yaml");
            for function in functions {
                println!(
                    "  {:<28} {:<18} bootstrap {:.1} MB",
                    function.logical_id,
                    function.binary,
                    function.bootstrap_bytes as f64 / 1_048_576.0
                );
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("package check: .aws-sam/build does not match template.yaml:");
            for problem in problems {
                eprintln!("  {problem}");
            }
            ExitCode::FAILURE
        }
    }
}
