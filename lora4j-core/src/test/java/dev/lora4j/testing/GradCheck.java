package dev.lora4j.testing;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference gradient checks. The scalar checked is L = Σ out·R for a fixed random R, so backward(R)
 * must return dL/dx and leave dL/dθ in the parameter gradients; each is compared with the central difference
 * (L(θ+ε) − L(θ−ε)) / 2ε computed in double from float32 forwards.
 */
public final class GradCheck {
    private static final float EPS = 1e-2f;
    private static final int MAX_COORDS = 40;

    private GradCheck() {
    }

    /** Checks a module's input and parameter gradients at a random input of the given dimensions. */
    public static void assertModule(Module module, long seed, int... inputDims) {
        assertModule(module, name -> true, seed, inputDims);
    }

    /**
     * As {@link #assertModule(Module, long, int...)}, checking only the parameters whose names pass
     * {@code checked} (DoRA's detached norm makes finite differences of A and B differ by design).
     */
    public static void assertModule(Module module, java.util.function.Predicate<String> checked, long seed, int... inputDims) {
        Tensor x = random(seed, inputDims);
        assertFunction(module, module::forward, x, seed, checked);
    }

    /**
     * Checks gradients of {@code forward} (which runs {@code module}) at input x: dL/dx against the value
     * backward returns, and dL/dθ for every trainable parameter of the module.
     */
    public static void assertFunction(Module module, Function<Tensor, Tensor> forward, Tensor x, long seed) {
        assertFunction(module, forward, x, seed, name -> true);
    }

    private static void assertFunction(Module module, Function<Tensor, Tensor> forward, Tensor x, long seed,
                                       java.util.function.Predicate<String> checked) {
        Tensor out = forward.apply(x);
        Tensor r = random(seed + 1, out.shape().toArray());
        module.zeroGrad();
        Tensor dx = module.backward(r);
        float[] analyticX = dx == null ? null : dx.toFloatArray();
        Map<String, Parameter> params = module.namedParameters();
        Random pick = new Random(seed + 2);
        if (analyticX != null) {
            float[] xd = x.data();
            for (int c : coords(pick, x.numel())) {
                double numeric = central(() -> loss(forward.apply(x), r), xd, x.offset() + c);
                check("input", c, numeric, analyticX[c]);
            }
        }
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            Parameter p = e.getValue();
            if (!p.requiresGrad() || !checked.test(e.getKey())) {
                continue;
            }
            float[] analytic = p.grad().toFloatArray();
            float[] pd = p.value().data();
            for (int c : coords(pick, p.numel())) {
                double numeric = central(() -> loss(forward.apply(x), r), pd, p.value().offset() + c);
                check(e.getKey(), c, numeric, analytic[c]);
            }
        }
    }

    /** A tensor of N(0, 1) values. */
    public static Tensor random(long seed, int... dims) {
        Tensor t = Tensor.zeros(dims);
        Random rng = new Random(seed);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rng.nextGaussian();
        }
        return t;
    }

    private static int[] coords(Random pick, int n) {
        if (n <= MAX_COORDS) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] some = new int[MAX_COORDS];
        for (int i = 0; i < some.length; i++) {
            some[i] = pick.nextInt(n);
        }
        return some;
    }

    /** Σ out·r in double. */
    public static double loss(Tensor out, Tensor r) {
        float[] o = out.toFloatArray();
        float[] w = r.toFloatArray();
        double s = 0;
        for (int i = 0; i < o.length; i++) {
            s += (double) o[i] * w[i];
        }
        return s;
    }

    /** Central difference of f with respect to data[i]; restores data[i]. */
    public static double central(java.util.function.DoubleSupplier f, float[] data, int i) {
        float saved = data[i];
        data[i] = saved + EPS;
        double plus = f.getAsDouble();
        data[i] = saved - EPS;
        double minus = f.getAsDouble();
        data[i] = saved;
        return (plus - minus) / (2.0 * EPS);
    }

    private static void check(String what, int coord, double numeric, double analytic) {
        double tol = 5e-3 + 1e-2 * Math.abs(numeric);
        if (!(Math.abs(numeric - analytic) <= tol)) {
            fail("gradient of " + what + "[" + coord + "]: finite difference " + numeric + ", backward " + analytic);
        }
    }
}
