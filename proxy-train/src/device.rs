//! Where a proxy trains: the CPU (f32, the reference) or a CUDA GPU (bf16 matmuls, f32
//! weights, norms, softmax and loss). CUDA needs the `cuda` feature.

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::{ProxyError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Cpu,
    Cuda(usize),
}

/// `cpu`, `cuda` or `cuda:N`.
impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => text
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("`{text}`: expected cpu, cuda or cuda:N")),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
        }
    }
}

impl DeviceChoice {
    pub fn open(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(ordinal) => {
                if !cfg!(feature = "cuda") {
                    return Err(ProxyError::Config(
                        "this blend was built without the `cuda` feature; rebuild with `--features cuda` or use --device cpu".into(),
                    ));
                }
                Ok(Device::new_cuda(ordinal)?)
            }
        }
    }

    /// The dtype matmuls run in: f32 on the CPU, bf16 on CUDA.
    pub fn compute_dtype(self) -> DType {
        match self {
            Self::Cpu => DType::F32,
            Self::Cuda(_) => DType::BF16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
        assert!(
            "tpu"
                .parse::<DeviceChoice>()
                .unwrap_err()
                .contains("cuda:N")
        );
        assert_eq!(DeviceChoice::Cuda(1).to_string(), "cuda:1");
        if !cfg!(feature = "cuda") {
            assert!(DeviceChoice::Cuda(0).open().is_err());
        }
    }
}
