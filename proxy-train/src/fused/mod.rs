//! The proxy's CPU ops written as single passes, forward and backward, each tested against
//! the composite candle graph it replaces (values and gradients): cross-entropy (alone, and
//! fused with the output head), RMSNorm, SwiGLU, and causal self-attention with RoPE. On other devices the model uses the composite graph
//! (see `gpt::OpPath`).

pub mod causal_attention;
pub mod cross_entropy;
pub mod linear_cross_entropy;
pub mod rms_norm;
pub mod rope;
pub mod swiglu;

use candle_core::{CpuStorage, Layout, WithDType};

pub use causal_attention::CausalSelfAttention;
pub use linear_cross_entropy::{linear_cross_entropy, linear_cross_entropy_value};
pub use rms_norm::RmsNorm;
pub use rope::RopeTable;
pub use swiglu::swiglu;

/// The values of a contiguous CPU tensor; `what` names it in the error.
fn cpu_slice<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{what} must be contiguous")))?;
    Ok(&storage.as_slice::<T>()?[start..end])
}

/// Comparing a fused op with its composite graph: seeded inputs, and values or gradients
/// that must agree to `1e-5 · (1 + |reference|)`.
#[cfg(test)]
pub(crate) mod parity {
    use blend_kernels::SeededRng;
    use candle_core::{Device, Tensor, Var};

    /// A `Var` of normal values with standard deviation `std`, drawn from `seed`.
    pub fn normal_var(shape: (usize, usize), std: f64, seed: u64) -> Var {
        crate::gpt::normal_var(&mut SeededRng::new(seed), shape, std, &Device::Cpu).unwrap()
    }

    /// Panics unless the gradients of `Σ fused ∘ upstream` and `Σ composite ∘ upstream`
    /// (`upstream` broadcast) agree for every named input.
    pub fn assert_same_gradients(
        fused: &Tensor,
        composite: &Tensor,
        upstream: &Tensor,
        inputs: &[(&Var, &str)],
    ) {
        let gradients = |output: &Tensor| {
            let loss = output.broadcast_mul(upstream).unwrap().sum_all().unwrap();
            loss.backward().unwrap()
        };
        let (fused, composite) = (gradients(fused), gradients(composite));
        for (input, name) in inputs {
            let of = |grads: &candle_core::backprop::GradStore| {
                grads.get(input.as_tensor()).unwrap().clone()
            };
            assert_close(&of(&fused), &of(&composite), &format!("gradient of {name}"));
        }
    }

    /// Panics naming the first element of `what` where `fused` and `reference` differ.
    pub fn assert_close(fused: &Tensor, reference: &Tensor, what: &str) {
        assert_eq!(fused.dims(), reference.dims(), "{what}: shapes");
        let fused = fused.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let reference = reference.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{what}[{i}]: fused {a} vs composite {b}"
            );
        }
    }
}
