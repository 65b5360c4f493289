package dev.lora4j.tensor;

import dev.lora4j.kernels.Gemm;

/** Tensor-level entry points into the kernels: shape checks with readable messages, then one kernel call. */
public final class Ops {
    private Ops() {
    }

    /**
     * out = op(a)·op(b) + beta·out, with a and b 2-D (rows contiguous, any row stride; float32, bf16 or f16)
     * and out a float32 (M, N) matrix with contiguous rows (a column slice of a wider matrix is fine). With beta = 1 the product is added, as backward passes do.
     *
     * @param op the operation named in error messages
     * @throws IllegalArgumentException if the shapes do not chain
     */
    public static void matmul(String op, Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float beta) {
        matmul(op, out, 1f, a, transA, b, transB, beta);
    }

    /** out = alpha·op(a)·op(b) + beta·out; see {@link #matmul(String, Tensor, Tensor, boolean, Tensor, boolean, float)}. */
    public static void matmul(String op, Tensor out, float alpha, Tensor a, boolean transA, Tensor b, boolean transB,
                              float beta) {
        matmul(op, out, alpha, a, transA, b, transB, beta, false);
    }

    /**
     * out = op(a)·op(b) + beta·out where b is a frozen weight: its packed form is computed once and reused until
     * the weight is written to (see {@link Gemm#gemmFrozenB}).
     */
    public static void matmulFrozen(String op, Tensor out, Tensor a, boolean transA, Tensor frozen, boolean transB, float beta) {
        matmul(op, out, 1f, a, transA, frozen, transB, beta, true);
    }

    /**
     * out = op(a)·op(b) + bias, the bias added to every row in the same pass (a dense layer's forward); with
     * {@code frozenB}, b is packed once as in {@link #matmulFrozen}.
     */
    public static void matmulBias(String op, Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float[] bias,
                                  boolean frozenB) {
        matmul(op, out, 1f, a, transA, b, transB, 0f, frozenB, bias);
    }

    private static void matmul(String op, Tensor out, float alpha, Tensor a, boolean transA, Tensor b, boolean transB,
                               float beta, boolean frozenB) {
        matmul(op, out, alpha, a, transA, b, transB, beta, frozenB, null);
    }

    private static void matmul(String op, Tensor out, float alpha, Tensor a, boolean transA, Tensor b, boolean transB,
                               float beta, boolean frozenB, float[] bias) {
        require2d(op, a);
        require2d(op, b);
        int M = transA ? a.dim(1) : a.dim(0);
        int K = transA ? a.dim(0) : a.dim(1);
        int Kb = transB ? b.dim(1) : b.dim(0);
        int N = transB ? b.dim(0) : b.dim(1);
        if (K != Kb) {
            throw new IllegalArgumentException(op + ": cannot multiply " + a.shape() + (transA ? "ᵀ" : "")
                    + " by " + b.shape() + (transB ? "ᵀ" : "") + ": inner dimensions " + K + " and " + Kb + " differ");
        }
        if (out.rank() != 2 || out.dim(0) != M || out.dim(1) != N || (N > 1 && out.stride(1) != 1) || out.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + ": output is " + out.shape() + " " + out.dtype()
                    + ", expected an F32 (" + M + ", " + N + ") matrix with contiguous rows");
        }
        int ldc = M > 1 ? out.stride(0) : N;
        if (bias != null) {
            if (bias.length != N) {
                throw new IllegalArgumentException(op + ": bias has " + bias.length + " values, expected " + N);
            }
            Gemm.gemmBias(M, N, K, alpha, operand(a, transA), operand(b, transB), bias, 0, out.data(), out.offset(), ldc, frozenB);
        } else if (frozenB) {
            Gemm.gemmFrozenB(M, N, K, alpha, operand(a, transA), operand(b, transB), beta, out.data(), out.offset(), ldc);
        } else {
            Gemm.gemm(M, N, K, alpha, operand(a, transA), operand(b, transB), beta, out.data(), out.offset(), ldc);
        }
    }

    /** The GEMM operand view of a 2-D tensor whose rows are contiguous. */
    public static Gemm.Operand operand(Tensor m, boolean trans) {
        int ld = m.dim(0) > 1 ? m.stride(0) : m.dim(1);
        return switch (m.storage()) {
            case Storage.F32 f -> Gemm.f32(f.data(), m.offset(), ld, trans);
            case Storage.Half h -> Gemm.half(h.data(), h.dtype(), m.offset(), ld, trans);
            case Storage.Mapped mapped -> mapped.readsMapping() ? Gemm.mapped(mapped, m.offset(), ld, trans)
                    : Gemm.f32(mapped.array(), m.offset(), ld, trans);
        };
    }

    /** dst[c] += Σ_n src[n, c] for a contiguous (N, C) float32 tensor: the gradient of a bias. */
    public static void addColumnSums(Tensor dst, Tensor src) {
        int C = src.dim(-1);
        int N = src.numel() / C;
        float[] d = dst.data();
        float[] s = src.data();
        for (int n = 0; n < N; n++) {
            dev.lora4j.kernels.VectorOps.axpy(d, dst.offset(), s, src.offset() + n * C, 1f, C);
        }
    }

    private static void require2d(String op, Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException(op + ": expected a 2-D matrix, got shape " + t.shape());
        }
        if (t.dim(1) > 1 && t.stride(1) != 1) {
            throw new IllegalArgumentException(op + ": matrix of shape " + t.shape() + " has non-contiguous rows");
        }
    }
}
