//! A checked, single-threaded f32 matrix product over strided views of slices, on the `gemm`
//! crate (candle's CPU matmul kernels, AVX2 or AVX-512 picked at run time). Callers that
//! parallelize over many small products (k-means chunks, attention heads) use this instead
//! of calling `gemm::gemm` and its pointers themselves.

/// A read-only `rows × cols` matrix inside `data`: element (r, c) is
/// `data[r·row_stride + c·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// A writable `rows × cols` matrix inside `data`, addressed as [`MatrixRef`].
#[derive(Debug)]
pub struct MatrixMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// A view's dimensions and strides, without its data.
#[derive(Debug, Clone, Copy)]
struct ViewShape {
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl ViewShape {
    /// Where the `rows × cols` block at (row, col) starts in a slice of `len` values; panics
    /// when the block leaves the matrix.
    fn block_offset(self, row: usize, rows: usize, col: usize, cols: usize, len: usize) -> usize {
        assert!(
            row + rows <= self.rows && col + cols <= self.cols,
            "block ({row}, {col}) {rows}×{cols} of a {}×{} matrix",
            self.rows,
            self.cols
        );
        (row * self.row_stride + col * self.col_stride).min(len)
    }

    /// Whether every element the view addresses lies inside a slice of `len` values.
    fn fits(self, len: usize) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1)
                .checked_mul(self.row_stride)
                .and_then(|r| (self.cols - 1).checked_mul(self.col_stride).map(|c| (r, c)))
                .and_then(|(r, c)| r.checked_add(c))
                .is_some_and(|last| last < len)
    }
}

impl<'a> MatrixRef<'a> {
    fn shape(&self) -> ViewShape {
        ViewShape {
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// The first `rows × cols` values of `data`, row after row.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same values read as the transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The `rows × cols` block whose first element is (row, col).
    pub fn block(self, row: usize, rows: usize, col: usize, cols: usize) -> Self {
        let offset = self
            .shape()
            .block_offset(row, rows, col, cols, self.data.len());
        Self {
            data: &self.data[offset..],
            rows,
            cols,
            ..self
        }
    }
}

impl<'a> MatrixMut<'a> {
    fn shape(&self) -> ViewShape {
        ViewShape {
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// The first `rows × cols` values of `data`, row after row.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The `rows × cols` block whose first element is (row, col).
    pub fn block(self, row: usize, rows: usize, col: usize, cols: usize) -> Self {
        let offset = self
            .shape()
            .block_offset(row, rows, col, cols, self.data.len());
        Self {
            data: &mut self.data[offset..],
            rows,
            cols,
            ..self
        }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`. Panics when the shapes do not
/// chain or a view reaches outside its slice.
#[allow(unsafe_code)]
pub fn matmul(mut dst: MatrixMut<'_>, lhs: MatrixRef<'_>, rhs: MatrixRef<'_>, accumulate: bool) {
    assert!(
        lhs.cols == rhs.rows && dst.rows == lhs.rows && dst.cols == rhs.cols,
        "matmul of {}×{} by {}×{} into {}×{}",
        lhs.rows,
        lhs.cols,
        rhs.rows,
        rhs.cols,
        dst.rows,
        dst.cols
    );
    let views = [
        (dst.data.len(), dst.shape()),
        (lhs.data.len(), lhs.shape()),
        (rhs.data.len(), rhs.shape()),
    ];
    assert!(
        views.iter().all(|&(len, shape)| shape.fits(len)),
        "a matrix view reaches outside its slice"
    );
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    if lhs.cols == 0 {
        if !accumulate {
            fill_zero(&mut dst);
        }
        return;
    }
    // SAFETY: every element the three views address lies inside its slice (checked above,
    // with overflow checks), the shapes chain (m×k by k×n into m×n), `dst` is the only
    // slice written and, being a `&mut`, cannot alias `lhs` or `rhs`. Strides fit in isize
    // because each addressed offset is below a slice length, which is at most isize::MAX.
    // gemm writes dst = alpha·dst + beta·lhs·rhs (alpha read only when read_dst), on this
    // thread only (Parallelism::None).
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            lhs.cols,
            dst.data.as_mut_ptr(),
            dst.col_stride as isize,
            dst.row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

fn fill_zero(dst: &mut MatrixMut<'_>) {
    for r in 0..dst.rows {
        for c in 0..dst.cols {
            dst.data[r * dst.row_stride + c * dst.col_stride] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::SeededRng::new(seed);
        (0..count).map(|_| rng.next_f64() as f32 - 0.5).collect()
    }

    #[test]
    fn product_matches_the_naive_loop() {
        let (m, k, n) = (7, 5, 9);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        let mut out = vec![f32::NAN; m * n];
        matmul(
            MatrixMut::row_major(&mut out, m, n),
            MatrixRef::row_major(&a, m, k),
            MatrixRef::row_major(&b, k, n),
            false,
        );
        for (x, y) in out.iter().zip(naive(&a, &b, m, k, n)) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn transposed_views_and_accumulation_match_the_naive_loop() {
        let (m, k, n) = (4, 6, 3);
        let a = values(m * k, 3);
        let bt = values(n * k, 4); // n×k, read as its transpose
        let b: Vec<f32> = (0..k * n).map(|i| bt[(i % n) * k + i / n]).collect();
        let mut out = vec![1f32; m * n];
        matmul(
            MatrixMut::row_major(&mut out, m, n),
            MatrixRef::row_major(&a, m, k),
            MatrixRef::row_major(&bt, n, k).t(),
            true,
        );
        for (x, y) in out.iter().zip(naive(&a, &b, m, k, n)) {
            assert!((x - (y + 1.0)).abs() < 1e-5, "{x} vs {}", y + 1.0);
        }
    }

    #[test]
    fn blocks_address_the_right_elements() {
        // out[1..3, 2..4] = a[2..4, 1..4] · b[0..3, 3..5], inside larger matrices.
        let (a, b) = (values(5 * 6, 6), values(4 * 7, 7));
        let mut out = vec![9f32; 4 * 5];
        matmul(
            MatrixMut::row_major(&mut out, 4, 5).block(1, 2, 2, 2),
            MatrixRef::row_major(&a, 5, 6).block(2, 2, 1, 3),
            MatrixRef::row_major(&b, 4, 7).block(0, 3, 3, 2),
            false,
        );
        for r in 0..4 {
            for c in 0..5 {
                let got = out[r * 5 + c];
                if (1..3).contains(&r) && (2..4).contains(&c) {
                    let want: f32 = (0..3)
                        .map(|p| a[(r + 1) * 6 + 1 + p] * b[p * 7 + c + 1])
                        .sum();
                    assert!((got - want).abs() < 1e-5, "({r}, {c}): {got} vs {want}");
                } else {
                    assert_eq!(got, 9.0, "({r}, {c}) is outside the block");
                }
            }
        }
    }

    #[test]
    fn an_empty_inner_dimension_zeroes_the_product() {
        let mut out = vec![3f32; 4];
        matmul(
            MatrixMut::row_major(&mut out, 2, 2),
            MatrixRef::row_major(&[], 2, 0),
            MatrixRef::row_major(&[], 0, 2),
            false,
        );
        assert_eq!(out, vec![0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "outside its slice")]
    fn a_view_past_its_slice_is_refused() {
        let a = values(6, 5);
        let mut out = vec![0f32; 4];
        matmul(
            MatrixMut::row_major(&mut out, 2, 2),
            // Rows 4 apart: the last element, (1, 2), would be value 6 of 6.
            MatrixRef {
                data: &a,
                rows: 2,
                cols: 3,
                row_stride: 4,
                col_stride: 1,
            },
            MatrixRef::row_major(&a, 3, 2),
            false,
        );
    }
}
