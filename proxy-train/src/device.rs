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

impl DeviceChoice {
    /// `cpu`, `cuda` or `cuda:N`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cpu" => Some(Self::Cpu),
            "cuda" => Some(Self::Cuda(0)),
            _ => text
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda),
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Cpu => "cpu".into(),
            Self::Cuda(ordinal) => format!("cuda:{ordinal}"),
        }
    }

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
        assert_eq!(DeviceChoice::parse("cpu"), Some(DeviceChoice::Cpu));
        assert_eq!(DeviceChoice::parse("cuda"), Some(DeviceChoice::Cuda(0)));
        assert_eq!(DeviceChoice::parse("cuda:3"), Some(DeviceChoice::Cuda(3)));
        assert_eq!(DeviceChoice::parse("tpu"), None);
        assert_eq!(DeviceChoice::Cuda(1).name(), "cuda:1");
        if !cfg!(feature = "cuda") {
            assert!(DeviceChoice::Cuda(0).open().is_err());
        }
    }
}
