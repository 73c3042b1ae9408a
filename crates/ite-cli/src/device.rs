//! `--device cpu|cuda[:N]`: where `ite fit`, `ite transfer`, `ite benchmark` and `ite bench`
//! build and train their networks, parsed in this one place.

use std::fmt;

use anyhow::{Context, Result};
use candle_core::Device;

/// The `--device` flag.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// Where networks are built and trained: `cpu`, or `cuda` / `cuda:N` (GPU N, 0 by default;
    /// needs a build with `--features cuda`). The OLS baselines always run on the CPU.
    #[arg(long, value_name = "cpu|cuda[:N]", default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceSpec,
}

/// A device as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The host CPU.
    Cpu,
    /// CUDA GPU number N.
    Cuda(usize),
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceArgs {
    /// Opens the device (errors, naming the flag, when the GPU cannot be opened).
    pub fn device(&self) -> Result<Device> {
        match self.device {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => {
                Device::new_cuda(n).with_context(|| format!("--device {}: cannot open CUDA device {n}", self.device))
            }
        }
    }
}

/// Parses `cpu`, `cuda` or `cuda:N`; `cuda` in a build without the `cuda` feature is an error.
fn parse_device(s: &str) -> std::result::Result<DeviceSpec, String> {
    let spec = match s {
        "cpu" => DeviceSpec::Cpu,
        "cuda" => DeviceSpec::Cuda(0),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => DeviceSpec::Cuda(n),
            _ => return Err(format!("expected `cpu`, `cuda` or `cuda:N` (N a GPU number), got `{s}`")),
        },
    };
    if matches!(spec, DeviceSpec::Cuda(_)) && !cfg!(feature = "cuda") {
        return Err(format!("`{s}` needs an `ite` built with `--features cuda` (this one was built without CUDA)"));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_rejects_others() {
        assert_eq!(parse_device("cpu"), Ok(DeviceSpec::Cpu));
        for bad in ["", "gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", "cuda0"] {
            assert!(parse_device(bad).unwrap_err().contains("expected `cpu`"), "{bad}");
        }
        if cfg!(feature = "cuda") {
            assert_eq!(parse_device("cuda"), Ok(DeviceSpec::Cuda(0)));
            assert_eq!(parse_device("cuda:2"), Ok(DeviceSpec::Cuda(2)));
        } else {
            assert!(parse_device("cuda:1").unwrap_err().contains("--features cuda"));
        }
    }
}
