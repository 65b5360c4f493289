package dev.lora4j.generate;

import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.models.gpt2.KvCache;
import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes continuations of a prompt with GPT-2 and a key/value cache: greedy, or beam search as Hugging Face's
 * BeamSearchScorer does it (2·beams candidates per step, a finished hypothesis scored sum(log p) /
 * length^lengthPenalty with length counting prompt and continuation, stop when no running beam can beat the
 * worst of the kept ones). Logits pass through the repetition penalty and the no-repeat n-gram ban first.
 */
public final class Generator {
    private final Gpt2LmHeadModel model;

    /** A generator for {@code model} (put in eval mode while generating). */
    public Generator(Gpt2LmHeadModel model) {
        this.model = model;
    }

    /** The continuation of {@code prompt} (token ids without the prompt, and without the end token). */
    public int[] generate(int[] prompt, DecodingOptions o) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("generate: the prompt is empty");
        }
        model.eval();
        return o.numBeams() == 1 ? greedy(prompt, o) : beam(prompt, o);
    }

    private int[] greedy(int[] prompt, DecodingOptions o) {
        KvCache cache = model.transformer().newCache(1, prompt.length + o.maxNewTokens());
        List<Integer> seq = new ArrayList<>();
        for (int t : prompt) {
            seq.add(t);
        }
        Tensor logits = model.nextTokenLogits(prompt, 1, prompt.length, cache);
        List<Integer> out = new ArrayList<>();
        while (out.size() < o.maxNewTokens() && cache.length() < cache.capacity()) {
            float[] l = logits.toFloatArray();
            process(l, seq, o);
            int next = argmax(l);
            if (next == o.eosTokenId()) {
                break;
            }
            out.add(next);
            seq.add(next);
            if (out.size() == o.maxNewTokens() || cache.length() >= cache.capacity()) {
                break;
            }
            logits = model.nextTokenLogits(new int[]{next}, 1, 1, cache);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private record Hypothesis(int[] tokens, double score) {
    }

    private int[] beam(int[] prompt, DecodingOptions o) {
        int k = o.numBeams();
        KvCache cache = model.transformer().newCache(k, prompt.length + o.maxNewTokens());
        int[] ids = new int[k * prompt.length];
        for (int b = 0; b < k; b++) {
            System.arraycopy(prompt, 0, ids, b * prompt.length, prompt.length);
        }
        Tensor logits = model.nextTokenLogits(ids, k, prompt.length, cache);
        List<List<Integer>> beams = new ArrayList<>();
        double[] scores = new double[k];
        for (int b = 0; b < k; b++) {
            List<Integer> s = new ArrayList<>();
            for (int t : prompt) {
                s.add(t);
            }
            beams.add(s);
            scores[b] = b == 0 ? 0 : Double.NEGATIVE_INFINITY;   // identical beams at first: expand only one
        }
        List<Hypothesis> finished = new ArrayList<>();
        int V = logits.dim(1);
        for (int step = 0; step < o.maxNewTokens(); step++) {
            float[] all = logits.toFloatArray();
            double[] cand = new double[k * V];
            for (int b = 0; b < k; b++) {
                float[] row = Arrays.copyOfRange(all, b * V, (b + 1) * V);
                process(row, beams.get(b), o);
                double lse = logSumExp(row);
                for (int v = 0; v < V; v++) {
                    cand[b * V + v] = scores[b] + (row[v] - lse);
                }
            }
            int[] top = topIndices(cand, 2 * k);
            List<List<Integer>> nextBeams = new ArrayList<>();
            int[] rows = new int[k];
            int[] tokens = new int[k];
            double[] nextScores = new double[k];
            for (int c : top) {
                if (nextBeams.size() == k || cand[c] == Double.NEGATIVE_INFINITY) {
                    break;
                }
                int b = c / V, v = c % V;
                if (v == o.eosTokenId()) {
                    addHypothesis(finished, beams.get(b), prompt.length, cand[c], o, k);
                    continue;
                }
                List<Integer> s = new ArrayList<>(beams.get(b));
                s.add(v);
                rows[nextBeams.size()] = b;
                tokens[nextBeams.size()] = v;
                nextScores[nextBeams.size()] = cand[c];
                nextBeams.add(s);
            }
            if (nextBeams.size() < k) {       // fewer live candidates than beams: pad with dead copies
                for (int i = nextBeams.size(); i < k; i++) {
                    rows[i] = rows[0];
                    tokens[i] = tokens[0];
                    nextScores[i] = Double.NEGATIVE_INFINITY;
                    nextBeams.add(new ArrayList<>(nextBeams.isEmpty() ? beams.get(0) : nextBeams.get(0)));
                }
            }
            beams = nextBeams;
            scores = nextScores;
            int length = beams.get(0).size();
            if (finished.size() >= k && worst(finished) >= scores[0] / Math.pow(length, o.lengthPenalty())) {
                break;
            }
            if (step + 1 == o.maxNewTokens() || cache.length() >= cache.capacity()) {
                break;
            }
            cache.reorder(rows);
            logits = model.nextTokenLogits(tokens, k, 1, cache);
        }
        for (int b = 0; b < k; b++) {
            if (scores[b] > Double.NEGATIVE_INFINITY) {
                addHypothesis(finished, beams.get(b), prompt.length, scores[b], o, k);
            }
        }
        Hypothesis best = finished.stream().max(Comparator.comparingDouble(Hypothesis::score)).orElseThrow();
        return best.tokens();
    }

    private static void addHypothesis(List<Hypothesis> finished, List<Integer> seq, int promptLength, double sumLogProbs,
                                      DecodingOptions o, int k) {
        double score = sumLogProbs / Math.pow(seq.size(), o.lengthPenalty());
        if (finished.size() < k || score > worst(finished)) {
            int[] tokens = seq.subList(promptLength, seq.size()).stream().mapToInt(Integer::intValue).toArray();
            finished.add(new Hypothesis(tokens, score));
            if (finished.size() > k) {
                finished.remove(finished.stream().min(Comparator.comparingDouble(Hypothesis::score)).orElseThrow());
            }
        }
    }

    private static double worst(List<Hypothesis> finished) {
        return finished.stream().mapToDouble(Hypothesis::score).min().orElse(Double.NEGATIVE_INFINITY);
    }

    /** Applies the repetition penalty and the no-repeat n-gram ban to one row of logits for sequence {@code seq}. */
    static void process(float[] logits, List<Integer> seq, DecodingOptions o) {
        if (o.repetitionPenalty() != 1.0) {
            Set<Integer> seen = new HashSet<>(seq);
            for (int t : seen) {
                float l = logits[t];
                logits[t] = (float) (l < 0 ? l * o.repetitionPenalty() : l / o.repetitionPenalty());
            }
        }
        int n = o.noRepeatNgramSize();
        if (n > 0 && seq.size() + 1 >= n) {
            Map<List<Integer>, Set<Integer>> continuations = new HashMap<>();
            for (int i = 0; i + n <= seq.size(); i++) {
                continuations.computeIfAbsent(seq.subList(i, i + n - 1), key -> new HashSet<>()).add(seq.get(i + n - 1));
            }
            for (int t : continuations.getOrDefault(seq.subList(seq.size() - n + 1, seq.size()), Set.of())) {
                logits[t] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    private static double logSumExp(float[] row) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    // The n best candidates, best first (ties: lower index first, as a stable sort), by a bounded heap: a beam
    // step scores beams × vocabulary candidates and needs only 2·beams of them, so sorting them all (boxed) was the
    // bulk of decoding time.
    static int[] topIndices(double[] values, int n) {
        int size = Math.min(n, values.length);
        int[] heap = new int[size];                       // min-heap on (value, −index): the worst kept at the root
        int count = 0;
        for (int i = 0; i < values.length; i++) {
            if (count < size) {
                heap[count] = i;
                siftUp(heap, count++, values);
            } else if (better(i, heap[0], values)) {
                heap[0] = i;
                siftDown(heap, 0, count, values);
            }
        }
        int[] out = new int[count];
        for (int k = count - 1; k >= 0; k--) {            // pop the worst first, fill from the back
            out[k] = heap[0];
            heap[0] = heap[k];
            siftDown(heap, 0, k, values);
        }
        return out;
    }

    private static boolean better(int a, int b, double[] v) {
        return v[a] > v[b] || (v[a] == v[b] && a < b);
    }

    private static void siftUp(int[] heap, int at, double[] v) {
        while (at > 0) {
            int parent = (at - 1) / 2;
            if (!better(heap[parent], heap[at], v)) {
                return;
            }
            int t = heap[parent];
            heap[parent] = heap[at];
            heap[at] = t;
            at = parent;
        }
    }

    private static void siftDown(int[] heap, int at, int count, double[] v) {
        while (true) {
            int worst = at;
            for (int c = 2 * at + 1; c <= 2 * at + 2 && c < count; c++) {
                if (better(heap[worst], heap[c], v)) {
                    worst = c;
                }
            }
            if (worst == at) {
                return;
            }
            int t = heap[worst];
            heap[worst] = heap[at];
            heap[at] = t;
            at = worst;
        }
    }
}
