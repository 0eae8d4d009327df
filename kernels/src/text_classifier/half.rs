//! IEEE 754 half precision (binary16) for the model file: f32 → f16 rounds to nearest, ties
//! to even (subnormals, infinities and NaN kept); f16 → f32 is exact.

/// The binary16 bits nearest to `x`.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xFF) as i32;
    let mantissa = bits & 0x7F_FFFF;
    if exponent == 0xFF {
        let nan = if mantissa != 0 { 0x200 } else { 0 };
        return sign | 0x7C00 | nan;
    }
    let half_exponent = exponent - 127 + 15;
    if half_exponent >= 0x1F {
        return sign | 0x7C00;
    }
    if half_exponent <= 0 {
        if half_exponent < -10 {
            return sign;
        }
        let mantissa = mantissa | 0x80_0000;
        let shift = (14 - half_exponent) as u32;
        let mut half = (mantissa >> shift) as u16;
        let remainder = mantissa & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        if remainder > halfway || (remainder == halfway && half & 1 == 1) {
            half += 1;
        }
        return sign | half;
    }
    let mut half = sign | ((half_exponent as u16) << 10) | (mantissa >> 13) as u16;
    let remainder = mantissa & 0x1FFF;
    if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) {
        half += 1; // a carry into the exponent is the right rounding, up to infinity
    }
    half
}

/// The f32 value of binary16 `bits`.
pub fn f16_bits_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits & 0x8000) << 16;
    let exponent = u32::from((bits >> 10) & 0x1F);
    let mantissa = u32::from(bits & 0x3FF);
    match exponent {
        0 => {
            let magnitude = mantissa as f32 * f32::from_bits(0x3380_0000); // 2^-24
            if sign != 0 { -magnitude } else { magnitude }
        }
        0x1F => f32::from_bits(sign | 0x7F80_0000 | (mantissa << 13)),
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// `x` rounded to the nearest f16 value. In f16's normal range this rounds the f32
/// mantissa to 10 bits in place (ties to even), without converting: training rounds every
/// weight, millions of them.
pub fn round_to_f16(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = (bits >> 23) & 0xFF;
    // Biased f32 exponents 113..=142 are f16's normal range, 2^-14 up to below 2^16.
    if (113..=142).contains(&exponent) {
        let rounded = bits.wrapping_add(0x0FFF + ((bits >> 13) & 1)) & !0x1FFF;
        if (rounded >> 23) & 0xFF <= 142 {
            return f32::from_bits(rounded);
        }
    }
    f16_bits_to_f32(f32_to_f16_bits(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRng;

    #[test]
    fn every_half_survives_the_round_trip() {
        for bits in 0..=u16::MAX {
            let value = f16_bits_to_f32(bits);
            if value.is_nan() {
                assert!(f16_bits_to_f32(f32_to_f16_bits(value)).is_nan());
            } else {
                assert_eq!(f32_to_f16_bits(value), bits, "{bits:#06x} = {value}");
            }
        }
        assert_eq!(f16_bits_to_f32(0x3C00), 1.0);
        assert_eq!(f16_bits_to_f32(0xC000), -2.0);
        assert_eq!(f16_bits_to_f32(0x7BFF), 65504.0);
        assert_eq!(f16_bits_to_f32(0x0001), 2f32.powi(-24));
    }

    #[test]
    fn in_place_rounding_equals_converting() {
        let mut rng = SeededRng::new(9);
        for _ in 0..1_000_000 {
            let x = f32::from_bits(rng.next_u64() as u32);
            let converted = f16_bits_to_f32(f32_to_f16_bits(x));
            let rounded = round_to_f16(x);
            assert!(
                rounded.to_bits() == converted.to_bits() || (x.is_nan() && rounded.is_nan()),
                "{x:e}: {rounded:e} vs {converted:e}"
            );
        }
        for x in [
            65504.0f32,
            65519.0,
            65520.0,
            6.1035156e-5,
            6.1e-5,
            -1.0009766,
        ] {
            assert_eq!(round_to_f16(x), f16_bits_to_f32(f32_to_f16_bits(x)), "{x}");
        }
    }

    #[test]
    fn rounding_is_nearest_with_ties_to_even() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
        assert_eq!(round_to_f16(1.0 + 2f32.powi(-11)), 1.0);
        // 1 + 3·2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (1 + 2^-9).
        assert_eq!(
            round_to_f16(1.0 + 3.0 * 2f32.powi(-11)),
            1.0 + 2f32.powi(-9)
        );
        assert_eq!(round_to_f16(1e6), f32::INFINITY);
        assert_eq!(round_to_f16(1e-9), 0.0);
        let mut rng = SeededRng::new(5);
        for _ in 0..100_000 {
            let x = ((rng.next_f64() * 2.0 - 1.0) * 10f64.powf(rng.next_f64() * 8.0 - 5.0)) as f32;
            let rounded = round_to_f16(x);
            // Within half a unit in the last place: 2^-11 relative for normal halves,
            // 2^-25 absolute in the subnormal range.
            let bound = (x.abs() * 2f32.powi(-11)).max(2f32.powi(-25));
            assert!((rounded - x).abs() <= bound, "{x} → {rounded}");
        }
    }
}
