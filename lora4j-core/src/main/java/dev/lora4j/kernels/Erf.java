package dev.lora4j.kernels;

/**
 * The error function in double precision, which {@code java.lang.Math} lacks: the Maclaurin series where it
 * converges quickly and a continued fraction for erfc in the tails. Accurate to about 1e-15, far below float32
 * rounding, so BERT's exact GELU matches PyTorch's.
 */
final class Erf {
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

    private Erf() {
    }

    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax > 6.0) {
            return Math.signum(x);
        }
        if (ax < 2.5) {
            // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double x2 = x * x;
            double term = x;
            double sum = x;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return TWO_OVER_SQRT_PI * sum;
        }
        // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated bottom-up.
        double f = ax;
        for (int n = 60; n >= 1; n--) {
            f = ax + (n / 2.0) / f;
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        return Math.signum(x) * (1.0 - erfc);
    }
}
