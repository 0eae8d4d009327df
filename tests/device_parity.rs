//! The CUDA path against the CPU reference, wherever a GPU exists: a `tiny` proxy trained 50
//! steps from the same seed on both devices must give per-step losses within 2e-2 (CUDA's
//! matmuls run in bf16), and MiniLM's embeddings on CUDA must match the CPU's (cosine ≥
//! 0.999). Without the `cuda` feature or a device, each test says it is skipped and passes.
//! `make check-cuda` builds this test with the feature into the GPU kit; bench/proxy/gpu.sh
//! runs it on a GPU machine.

use blend_kernels::SeededRng;
use blend_proxy_train::{
    DeviceChoice, DomainTokens, Preset, ProxyData, TrainSettings, train_proxy,
};

/// The CUDA device, or why there is none (the test is then skipped).
fn cuda_or_skip(test: &str) -> Option<candle_core::Device> {
    if !cfg!(feature = "cuda") {
        eprintln!("skipping {test}: built without the `cuda` feature (make check-cuda builds it)");
        return None;
    }
    match DeviceChoice::Cuda(0).open() {
        Ok(device) => Some(device),
        Err(error) => {
            // candle's error text can carry a backtrace: its first line says why.
            let reason = error.to_string();
            let reason = reason.lines().next().unwrap_or_default();
            eprintln!("skipping {test}: no CUDA device ({reason})");
            None
        }
    }
}

/// Two domains of seeded Zipf tokens over a 512-token vocabulary.
fn random_data() -> ProxyData {
    let mut rng = SeededRng::new(3);
    let mut stream = |domain: &str, n: usize| DomainTokens {
        domain: domain.into(),
        tokens: (0..n).map(|_| rng.zipf(512, 1.1) as u32).collect(),
    };
    let train = vec![stream("a", 200_000), stream("b", 200_000)];
    let valid = vec![stream("a", 4_000), stream("b", 4_000)];
    ProxyData {
        domains: vec!["a".into(), "b".into()],
        vocab_size: 512,
        train,
        valid,
    }
}

#[test]
fn a_tiny_proxy_trains_the_same_on_cuda_as_on_the_cpu() {
    if cuda_or_skip("the proxy device parity test").is_none() {
        return;
    }
    let data = random_data();
    let losses = |device: DeviceChoice| {
        let mut settings = TrainSettings::new(Preset::Tiny.config(512, 64), 50, 7);
        settings.batch_size = 8;
        settings.eval_windows = 4;
        settings.device = device;
        train_proxy(&data, &[0.5, 0.5], &settings, &|_| {})
            .unwrap()
            .train_loss
    };
    let (cpu, cuda) = (losses(DeviceChoice::Cpu), losses(DeviceChoice::Cuda(0)));
    assert_eq!(cpu.len(), 50, "one logged loss per step");
    assert_eq!(cpu.len(), cuda.len());
    for ((step, a), (_, b)) in cpu.iter().zip(&cuda) {
        eprintln!("step {step}: cpu {a:.5} cuda {b:.5}");
        assert!(
            (a - b).abs() <= 2e-2,
            "step {step}: cpu loss {a}, cuda loss {b}"
        );
    }
}

#[test]
fn minilm_embeds_the_same_on_cuda_as_on_the_cpu() {
    let Some(device) = cuda_or_skip("the MiniLM device parity test") else {
        return;
    };
    let Some(dir) = blend_tests::minilm_dir() else {
        return;
    };
    use blend_operators::cluster::minilm::MiniLm;
    let texts = [
        "The mitochondria is the powerhouse of the cell.",
        "fn main() { println!(\"hello\"); }",
        "Q: What is 12 times 7? A: 84.",
        "Le chat est assis sur le tapis, et il regarde la pluie tomber dehors toute la journée.",
        "short",
    ];
    let embed = |device: candle_core::Device| {
        MiniLm::load(&dir, 128, device)
            .unwrap()
            .embed_all(&texts, 2)
            .unwrap()
    };
    let (cpu, cuda) = (embed(candle_core::Device::Cpu), embed(device));
    let dim = cpu.len() / texts.len();
    for (row, text) in texts.iter().enumerate() {
        let span = row * dim..(row + 1) * dim;
        let (a, b) = (&cpu[span.clone()], &cuda[span]);
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norms = a.iter().map(|x| x * x).sum::<f32>().sqrt()
            * b.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cosine = dot / norms;
        eprintln!("text {row}: cosine {cosine:.6}");
        assert!(
            cosine >= 0.999,
            "{text:?}: cosine {cosine} between CPU and CUDA"
        );
    }
}
