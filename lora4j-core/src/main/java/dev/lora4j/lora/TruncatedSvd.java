package dev.lora4j.lora;

import java.util.Random;

/**
 * Rank-r truncated SVD by randomized range finding (Halko, Martinsson and Tropp, 2011; the algorithm behind
 * scikit-learn's TruncatedSVD that EDoRA uses): project onto r + 10 random directions, sharpen with power
 * iterations re-orthonormalized each time, then take the exact SVD of the small projected matrix by one-sided
 * Jacobi rotations. All arithmetic is in double precision.
 *
 * @param u  left singular vectors, rows × rank, row-major
 * @param s  singular values, largest first
 * @param vt right singular vectors, rank × cols, row-major; the largest entry of each row is positive
 */
public record TruncatedSvd(int rows, int cols, int rank, double[] u, double[] s, double[] vt) {
    private static final int OVERSAMPLES = 10;

    /**
     * The rank-{@code rank} truncated SVD of the row-major {@code rows × cols} matrix {@code m}.
     *
     * @throws IllegalArgumentException if rank is not in [1, min(rows, cols)]
     */
    public static TruncatedSvd randomized(float[] m, int rows, int cols, int rank, int nIter, long seed) {
        int full = Math.min(rows, cols);
        if (rank < 1 || rank > full) {
            throw new IllegalArgumentException("TruncatedSvd: rank " + rank + " is outside [1, " + full + "] for a "
                    + rows + "×" + cols + " matrix");
        }
        int k = Math.min(rank + OVERSAMPLES, full);
        Random rng = new Random(seed);
        double[] omega = new double[cols * k];
        for (int i = 0; i < omega.length; i++) {
            omega[i] = rng.nextGaussian();
        }
        double[] q = orthonormalize(multiply(m, rows, cols, omega, k, false), rows, k);        // rows × k
        for (int it = 0; it < nIter; it++) {
            double[] z = orthonormalize(multiply(m, rows, cols, q, k, true), cols, k);         // cols × k
            q = orthonormalize(multiply(m, rows, cols, z, k, false), rows, k);
        }
        // small = Qᵀ·M (k × cols); one-sided Jacobi on its transpose W = Mᵀ·Q (cols × k): W·J = V·Σ.
        double[] w = multiply(m, rows, cols, q, k, true);
        double[] jac = identity(k);
        jacobiOrthogonalizeColumns(w, cols, k, jac);
        double[] norms = new double[k];
        for (int c = 0; c < k; c++) {
            double ss = 0;
            for (int i = 0; i < cols; i++) {
                ss += w[i * k + c] * w[i * k + c];
            }
            norms[c] = Math.sqrt(ss);
        }
        Integer[] order = new Integer[k];
        for (int i = 0; i < k; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(norms[b], norms[a]));
        double[] u = new double[rows * rank];
        double[] s = new double[rank];
        double[] vt = new double[rank * cols];
        for (int t = 0; t < rank; t++) {
            int c = order[t];
            s[t] = norms[c];
            double inv = norms[c] > 0 ? 1 / norms[c] : 0;
            int argmax = 0;
            for (int i = 0; i < cols; i++) {
                vt[t * cols + i] = w[i * k + c] * inv;
                if (Math.abs(vt[t * cols + i]) > Math.abs(vt[t * cols + argmax])) {
                    argmax = i;
                }
            }
            double sign = vt[t * cols + argmax] < 0 ? -1 : 1;
            for (int i = 0; i < cols; i++) {
                vt[t * cols + i] *= sign;
            }
            for (int i = 0; i < rows; i++) {                    // U = Q·J, column c
                double acc = 0;
                for (int j = 0; j < k; j++) {
                    acc += q[i * k + j] * jac[j * k + c];
                }
                u[i * rank + t] = acc * sign;
            }
        }
        return new TruncatedSvd(rows, cols, rank, u, s, vt);
    }

    // M·X (rows × k) for X cols × k, or Mᵀ·X (cols × k) for X rows × k.
    private static double[] multiply(float[] m, int rows, int cols, double[] x, int k, boolean transpose) {
        double[] out = new double[(transpose ? cols : rows) * k];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double mij = m[i * cols + j];
                if (mij == 0) {
                    continue;
                }
                int dst = (transpose ? j : i) * k;
                int src = (transpose ? i : j) * k;
                for (int c = 0; c < k; c++) {
                    out[dst + c] += mij * x[src + c];
                }
            }
        }
        return out;
    }

    // Modified Gram-Schmidt, twice, on the k columns of an n × k matrix.
    private static double[] orthonormalize(double[] a, int n, int k) {
        for (int pass = 0; pass < 2; pass++) {
            for (int c = 0; c < k; c++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int i = 0; i < n; i++) {
                        dot += a[i * k + c] * a[i * k + p];
                    }
                    for (int i = 0; i < n; i++) {
                        a[i * k + c] -= dot * a[i * k + p];
                    }
                }
                double norm = 0;
                for (int i = 0; i < n; i++) {
                    norm += a[i * k + c] * a[i * k + c];
                }
                norm = Math.sqrt(norm);
                for (int i = 0; i < n; i++) {
                    a[i * k + c] = norm > 1e-300 ? a[i * k + c] / norm : 0;
                }
            }
        }
        return a;
    }

    private static double[] identity(int k) {
        double[] id = new double[k * k];
        for (int i = 0; i < k; i++) {
            id[i * k + i] = 1;
        }
        return id;
    }

    // Rotates column pairs of the n × k matrix w until all are orthogonal, applying the same rotations to j.
    private static void jacobiOrthogonalizeColumns(double[] w, int n, int k, double[] j) {
        for (int sweep = 0; sweep < 60; sweep++) {
            double off = 0;
            for (int p = 0; p < k - 1; p++) {
                for (int q = p + 1; q < k; q++) {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < n; i++) {
                        double wp = w[i * k + p], wq = w[i * k + q];
                        alpha += wp * wp;
                        beta += wq * wq;
                        gamma += wp * wq;
                    }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t), s = c * t;
                    rotate(w, n, k, p, q, c, s);
                    rotate(j, k, k, p, q, c, s);
                }
            }
            if (off < 1e-15) {
                return;
            }
        }
    }

    private static void rotate(double[] a, int n, int k, int p, int q, double c, double s) {
        for (int i = 0; i < n; i++) {
            double ap = a[i * k + p], aq = a[i * k + q];
            a[i * k + p] = c * ap - s * aq;
            a[i * k + q] = s * ap + c * aq;
        }
    }
}
