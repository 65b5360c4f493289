package dev.lora4j.models.onnx;

import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model that weight import needs: the graph's float initializers and its nodes (name,
 * op type, inputs). Read straight from the protobuf wire format (onnx.proto: ModelProto.graph = 7,
 * GraphProto.node = 1 and initializer = 5, NodeProto input = 1, name = 3, op_type = 4, TensorProto dims = 1,
 * data_type = 2, float_data = 4, name = 8, raw_data = 9), so no protobuf library is needed.
 */
public final class OnnxGraph {
    private static final int FLOAT = 1;

    /** A node of the graph. */
    public record Node(String name, String opType, List<String> inputs) {
    }

    private final Map<String, Tensor> initializers = new LinkedHashMap<>();
    private final List<Node> nodes = new ArrayList<>();

    private OnnxGraph() {
    }

    /** Float32 initializers by name, in file order. */
    public Map<String, Tensor> initializers() {
        return initializers;
    }

    /** The graph's nodes, in file order. */
    public List<Node> nodes() {
        return nodes;
    }

    /**
     * Parses an ONNX model.
     *
     * @param source named in error messages
     * @throws IOException if the bytes are not a well-formed ONNX model
     */
    public static OnnxGraph parse(byte[] model, String source) throws IOException {
        OnnxGraph g = new OnnxGraph();
        Reader top = new Reader(ByteBuffer.wrap(model), source);
        boolean sawGraph = false;
        while (top.hasMore()) {
            int tag = top.tag();
            if (tag >>> 3 == 7 && (tag & 7) == 2) {
                g.readGraph(top.message());
                sawGraph = true;
            } else {
                top.skip(tag);
            }
        }
        if (!sawGraph) {
            throw new IOException(source + ": no graph found; is this an ONNX model?");
        }
        return g;
    }

    private void readGraph(Reader r) throws IOException {
        while (r.hasMore()) {
            int tag = r.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                nodes.add(readNode(r.message()));
            } else if (field == 5 && (tag & 7) == 2) {
                readTensor(r.message());
            } else {
                r.skip(tag);
            }
        }
    }

    private static Node readNode(Reader r) throws IOException {
        List<String> inputs = new ArrayList<>();
        String name = "";
        String op = "";
        while (r.hasMore()) {
            int tag = r.tag();
            switch (tag >>> 3) {
                case 1 -> inputs.add(r.string());
                case 3 -> name = r.string();
                case 4 -> op = r.string();
                default -> r.skip(tag);
            }
        }
        return new Node(name, op, inputs);
    }

    private void readTensor(Reader r) throws IOException {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        ByteBuffer raw = null;
        List<Float> floats = new ArrayList<>();
        while (r.hasMore()) {
            int tag = r.tag();
            int field = tag >>> 3;
            if (field == 1) {
                if ((tag & 7) == 2) {
                    Reader packed = r.message();
                    while (packed.hasMore()) {
                        dims.add(packed.varint());
                    }
                } else {
                    dims.add(r.varint());
                }
            } else if (field == 2) {
                dataType = (int) r.varint();
            } else if (field == 4 && (tag & 7) == 2) {
                ByteBuffer b = r.bytes().order(ByteOrder.LITTLE_ENDIAN);
                while (b.hasRemaining()) {
                    floats.add(b.getFloat());
                }
            } else if (field == 8) {
                name = r.string();
            } else if (field == 9) {
                raw = r.bytes().order(ByteOrder.LITTLE_ENDIAN);
            } else {
                r.skip(tag);
            }
        }
        if (dataType != FLOAT) {
            return;                       // integer shape constants and the like are not weights
        }
        int[] shape = dims.stream().mapToInt(Long::intValue).toArray();
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] data = new float[n];
        if (raw != null) {
            if (raw.remaining() != 4L * n) {
                throw new IOException("ONNX initializer '" + name + "' has " + raw.remaining() + " bytes, expected " + 4L * n);
            }
            raw.asFloatBuffer().get(data);
        } else if (floats.size() == n) {
            for (int i = 0; i < n; i++) {
                data[i] = floats.get(i);
            }
        } else {
            throw new IOException("ONNX initializer '" + name + "' has " + floats.size() + " values, expected " + n);
        }
        initializers.put(name, Tensor.of(data, shape));
    }

    /** Protobuf wire-format reader over a byte range. */
    private static final class Reader {
        private final ByteBuffer buf;
        private final String source;

        Reader(ByteBuffer buf, String source) {
            this.buf = buf;
            this.source = source;
        }

        boolean hasMore() {
            return buf.hasRemaining();
        }

        int tag() throws IOException {
            return (int) varint();
        }

        long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (!buf.hasRemaining()) {
                    throw new IOException(source + ": truncated protobuf varint at byte " + buf.position());
                }
                byte b = buf.get();
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IOException(source + ": malformed protobuf varint at byte " + buf.position());
        }

        ByteBuffer bytes() throws IOException {
            long len = varint();
            if (len < 0 || len > buf.remaining()) {
                throw new IOException(source + ": field of " + len + " bytes runs past the end at byte " + buf.position());
            }
            ByteBuffer slice = buf.slice(buf.position(), (int) len);
            buf.position(buf.position() + (int) len);
            return slice;
        }

        Reader message() throws IOException {
            return new Reader(bytes(), source);
        }

        String string() throws IOException {
            ByteBuffer b = bytes();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            return new String(a, StandardCharsets.UTF_8);
        }

        void skip(int tag) throws IOException {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> buf.position(buf.position() + 8);
                case 2 -> bytes();
                case 5 -> buf.position(buf.position() + 4);
                default -> throw new IOException(source + ": unsupported protobuf wire type " + (tag & 7)
                        + " at byte " + buf.position());
            }
        }
    }
}
