package dev.lora4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor name to its
 * dtype, shape and [begin, end) byte offsets (plus an optional {@code __metadata__} string map), then the raw
 * little-endian data.
 *
 * <p>Reading checks the header against the file and names the file and tensor in every error. Writing produces
 * the layout of the reference implementation (names sorted, header padded with spaces to a multiple of 8) and
 * replaces the file atomically.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {
    }

    /** One tensor's header entry. */
    public record Entry(String dtype, int[] shape, long begin, long end) {
    }

    /** The contents of a safetensors file held in memory. */
    public static final class Contents {
        private final Path file;
        private final Map<String, Entry> entries;
        private final Map<String, String> metadata;
        private final java.lang.foreign.MemorySegment data;     // the mapped bytes after the header

        private Contents(Path file, Map<String, Entry> entries, Map<String, String> metadata, java.lang.foreign.MemorySegment data) {
            this.file = file;
            this.entries = entries;
            this.metadata = metadata;
            this.data = data;
        }

        /** Tensor names in header order. */
        public List<String> names() {
            return new ArrayList<>(entries.keySet());
        }

        /** The header entry of {@code name}, or null. */
        public Entry entry(String name) {
            return entries.get(name);
        }

        /** The {@code __metadata__} map (empty when absent). */
        public Map<String, String> metadata() {
            return metadata;
        }

        /**
         * A floating-point tensor: F32, BF16 and F16 keep their type; F64 is narrowed to F32.
         *
         * @throws IllegalArgumentException if the tensor is missing or not floating point
         */
        public Tensor tensor(String name) {
            Entry e = require(name);
            int[] shape = e.shape();
            ByteBuffer b = slice(e);
            int n = (int) (e.end() - e.begin()) / bytesOf(e.dtype());
            return switch (e.dtype()) {
                case "F32" -> {
                    float[] f = new float[n];
                    b.asFloatBuffer().get(f);
                    yield Tensor.of(f, shape);
                }
                case "F64" -> {
                    float[] f = new float[n];
                    for (int i = 0; i < n; i++) {
                        f[i] = (float) b.getDouble(i * 8);
                    }
                    yield Tensor.of(f, shape);
                }
                case "BF16", "F16" -> {
                    short[] h = new short[n];
                    b.asShortBuffer().get(h);
                    yield Tensor.ofHalf(h, DType.valueOf(e.dtype()), shape);
                }
                default -> throw new IllegalArgumentException(file + ": tensor '" + name + "' has dtype " + e.dtype()
                        + ", expected a floating-point type (F32, F16, BF16, F64)");
            };
        }

        /**
         * Float32 tensor {@code name} read in place from the file's mapping (no copy; see
         * {@link dev.lora4j.tensor.Storage.Mapped}), or null if it is stored in another dtype.
         *
         * @throws IllegalArgumentException if the tensor is missing
         */
        public Tensor mapped(String name) {
            Entry e = require(name);
            if (!e.dtype().equals("F32")) {
                return null;
            }
            return Tensor.mapped(data.asSlice(e.begin(), e.end() - e.begin()), e.shape());
        }

        /**
         * Copies floating-point tensor {@code name} into {@code dst}, a contiguous float32 tensor with as many
         * elements, in one pass from the mapped file (BF16 and F16 widened, F64 narrowed): loading a model this
         * way needs no intermediate array per tensor.
         *
         * @throws IllegalArgumentException if the tensor is missing, not floating point, or its size differs
         */
        public void copyInto(String name, Tensor dst) {
            Entry e = require(name);
            int n = (int) ((e.end() - e.begin()) / bytesOf(e.dtype()));
            if (dst.numel() != n || dst.dtype() != DType.F32 || !dst.isContiguous()) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has " + n + " values; cannot copy it into a "
                        + dst.dtype() + " tensor of shape " + dst.shape());
            }
            float[] d = dst.data();
            int off = dst.offset();
            dev.lora4j.kernels.Gemm.invalidate(d);
            ByteBuffer b = slice(e);
            switch (e.dtype()) {
                case "F32" -> b.asFloatBuffer().get(d, off, n);
                case "BF16", "F16" -> {
                    DType type = DType.valueOf(e.dtype());
                    java.nio.ShortBuffer bits = b.asShortBuffer();
                    short[] chunk = new short[Math.min(n, 1 << 16)];
                    for (int i = 0; i < n; i += chunk.length) {
                        int len = Math.min(chunk.length, n - i);
                        bits.get(chunk, 0, len);
                        type.halfToFloat(chunk, 0, d, off + i, len);
                    }
                }
                case "F64" -> {
                    for (int i = 0; i < n; i++) {
                        d[off + i] = (float) b.getDouble(i * 8);
                    }
                }
                default -> throw new IllegalArgumentException(file + ": tensor '" + name + "' has dtype " + e.dtype()
                        + ", expected a floating-point type (F32, F16, BF16, F64)");
            }
        }

        /**
         * An integer tensor (I64, I32, I16, I8, U8, BOOL) as int values, row-major.
         *
         * @throws IllegalArgumentException if the tensor is missing, not an integer type, or a value overflows int
         */
        public int[] ints(String name) {
            Entry e = require(name);
            ByteBuffer b = slice(e);
            int size = bytesOf(e.dtype());
            int n = (int) (e.end() - e.begin()) / size;
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                long v = switch (e.dtype()) {
                    case "I64" -> b.getLong(i * 8);
                    case "I32" -> b.getInt(i * 4);
                    case "I16" -> b.getShort(i * 2);
                    case "I8" -> b.get(i);
                    case "U8", "BOOL" -> b.get(i) & 0xff;
                    default -> throw new IllegalArgumentException(file + ": tensor '" + name + "' has dtype " + e.dtype()
                            + ", expected an integer type");
                };
                if (v != (int) v) {
                    throw new IllegalArgumentException(file + ": tensor '" + name + "' holds " + v + ", outside int range");
                }
                out[i] = (int) v;
            }
            return out;
        }

        private Entry require(String name) {
            Entry e = entries.get(name);
            if (e == null) {
                throw new IllegalArgumentException(file + ": no tensor named '" + name + "'; it has " + entries.keySet());
            }
            return e;
        }

        private ByteBuffer slice(Entry e) {
            return data.asSlice(e.begin(), e.end() - e.begin()).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * Opens and validates a safetensors file. The file is memory-mapped (FFM, so files beyond 2 GB work): only the
     * header is read now, and each tensor's bytes are read when {@link Contents#tensor} asks for it.
     *
     * @throws IOException if the file cannot be read or is not a valid safetensors file; the message names the
     *                     file, the tensor and the problem
     */
    public static Contents read(Path file) throws IOException {
        java.lang.foreign.MemorySegment all;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            all = ch.size() == 0 ? java.lang.foreign.MemorySegment.NULL
                    : ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size(), java.lang.foreign.Arena.ofAuto());
        }
        long fileLen = all.byteSize();
        if (fileLen < 8) {
            throw new IOException(file + ": not a safetensors file: " + fileLen + " bytes, shorter than the 8-byte header length");
        }
        long headerLen = all.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > fileLen - 8L || headerLen > Integer.MAX_VALUE) {
            throw new IOException(file + ": header length " + headerLen + " does not fit a file of " + fileLen + " bytes");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(all.asSlice(8, headerLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": header is not valid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw new IOException(file + ": header is not a JSON object");
        }
        long dataLen = fileLen - 8L - headerLen;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue(), dataLen));
        }
        checkCoverage(file, entries, dataLen);
        return new Contents(file, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata),
                all.asSlice(8 + headerLen, dataLen));
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataLen) throws IOException {
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null || shape == null || offsets == null || !shape.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new IOException(file + ": tensor '" + name + "' needs dtype, shape and data_offsets [begin, end]");
        }
        int size;
        try {
            size = bytesOf(dtype.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": tensor '" + name + "': " + e.getMessage());
        }
        int[] dims = new int[shape.size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            long d = shape.get(i).asLong(-1);
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw new IOException(file + ": tensor '" + name + "' has invalid dimension " + shape.get(i));
            }
            dims[i] = (int) d;
            numel *= d;
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw new IOException(file + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] outside the " + dataLen + " data bytes");
        }
        if (end - begin != numel * size) {
            throw new IOException(file + ": tensor '" + name + "' has " + (end - begin) + " bytes, but shape "
                    + java.util.Arrays.toString(dims) + " of " + dtype.asText() + " needs " + numel * size);
        }
        return new Entry(dtype.asText(), dims, begin, end);
    }

    /** The data must be tiled exactly by the tensors: no overlaps and no gaps. */
    private static void checkCoverage(Path file, Map<String, Entry> entries, long dataLen) throws IOException {
        TreeMap<Long, String> byBegin = new TreeMap<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (e.getValue().begin() == e.getValue().end()) {
                continue;
            }
            byBegin.put(e.getValue().begin(), e.getKey());
        }
        long expected = 0;
        for (Map.Entry<Long, String> e : byBegin.entrySet()) {
            Entry entry = entries.get(e.getValue());
            if (entry.begin() != expected) {
                throw new IOException(file + ": tensor '" + e.getValue() + "' starts at byte " + entry.begin()
                        + (entry.begin() < expected ? ", overlapping the tensor before it" : ", leaving a gap") + " (expected " + expected + ")");
            }
            expected = entry.end();
        }
        if (expected != dataLen) {
            throw new IOException(file + ": tensors cover " + expected + " of " + dataLen + " data bytes");
        }
    }

    /** Bytes per element of a safetensors dtype name. */
    static int bytesOf(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> throw new IllegalArgumentException("unknown dtype '" + dtype + "'");
        };
    }

    /**
     * Writes float tensors (F32, BF16 or F16 as stored) atomically, names sorted, header padded to 8 bytes.
     *
     * @param metadata the {@code __metadata__} map, or null for none
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        TreeMap<String, Tensor> sorted = new TreeMap<>(tensors);
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            long bytes = (long) t.numel() * t.dtype().byteSize();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().name());
            var shape = entry.putArray("shape");
            for (int d : t.shape().toArray()) {
                shape.add(d);
            }
            var offs = entry.putArray("data_offsets");
            offs.add(offset);
            offs.add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFiles.write(file, ch -> {
            AtomicFiles.writeFully(ch, head);
            for (Tensor t : sorted.values()) {
                Tensor c = t.contiguous();
                if (c.storage() instanceof dev.lora4j.tensor.Storage.Mapped m && m.readsMapping()) {
                    // Already little-endian float32 bytes in a file mapping: written as they are, never copied
                    // onto the heap (a merge writes every untouched weight of the base this way).
                    AtomicFiles.writeFully(ch, m.segment().asSlice(4L * c.offset(), 4L * c.numel()).asByteBuffer());
                    continue;
                }
                ByteBuffer b = ByteBuffer.allocate(c.numel() * c.dtype().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                if (c.dtype() == DType.F32) {
                    b.asFloatBuffer().put(c.data(), c.offset(), c.numel());
                } else {
                    b.asShortBuffer().put(c.halfData(), c.offset(), c.numel());
                }
                AtomicFiles.writeFully(ch, b);
            }
        });
    }
}
