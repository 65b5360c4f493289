package dev.lora4j.io;

import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripIsByteForByte() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("b.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        tensors.put("a.bias", Tensor.of(new float[] {0.5f, -0.25f, 3f}, 3).to(DType.BF16));
        tensors.put("c", Tensor.of(new float[] {7f}, 1).to(DType.F16));
        Path first = dir.resolve("first.safetensors");
        SafeTensors.write(first, tensors, Map.of("format", "pt"));
        SafeTensors.Contents read = SafeTensors.read(first);
        assertEquals(java.util.List.of("a.bias", "b.weight", "c"), read.names().stream().sorted().toList());
        assertEquals("pt", read.metadata().get("format"));
        assertEquals(DType.BF16, read.tensor("a.bias").dtype());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, read.tensor("b.weight").toFloatArray());
        Map<String, Tensor> again = new LinkedHashMap<>();
        read.names().forEach(n -> again.put(n, read.tensor(n)));
        Path second = dir.resolve("second.safetensors");
        SafeTensors.write(second, again, read.metadata());
        assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));
        byte[] bytes = Files.readAllBytes(first);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLen % 8);
        assertTrue(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8).startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"a.bias\""));
    }

    @Test
    void copyIntoWidensEachTypeAsTensorDoesAndChecksTheSize() throws IOException {
        java.util.Random r = new java.util.Random(4);
        float[] values = new float[70_001];                  // more than one 65,536-value chunk
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextGaussian() * 100f;
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("f32", Tensor.of(values, values.length));
        tensors.put("bf16", Tensor.of(values, values.length).to(DType.BF16));
        tensors.put("f16", Tensor.of(values, values.length).to(DType.F16));
        Path file = dir.resolve("types.safetensors");
        SafeTensors.write(file, tensors, null);
        SafeTensors.Contents read = SafeTensors.read(file);
        for (String name : tensors.keySet()) {
            Tensor dst = Tensor.zeros(2, values.length).narrow(0, 1, 1).view(values.length);   // at an offset
            read.copyInto(name, dst);
            assertArrayEquals(read.tensor(name).toFloatArray(), dst.toFloatArray(), name);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> read.copyInto("f32", Tensor.zeros(3)));
        assertEquals(file + ": tensor 'f32' has 70001 values; cannot copy it into a F32 tensor of shape (3)", e.getMessage());
    }

    private Path withHeader(String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void rejectsSizeThatDisagreesWithShape() throws IOException {
        Path p = withHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12);
        var e = assertThrows(IOException.class, () -> SafeTensors.read(p));
        assertEquals(p + ": tensor 'w' has 12 bytes, but shape [2, 2] of F32 needs 16", e.getMessage());
    }

    @Test
    void rejectsOverlapsGapsAndOverruns() throws IOException {
        Path overlap = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertTrue(assertThrows(IOException.class, () -> SafeTensors.read(overlap)).getMessage()
                .endsWith("tensor 'b' starts at byte 4, overlapping the tensor before it (expected 8)"));
        Path past = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertTrue(assertThrows(IOException.class, () -> SafeTensors.read(past)).getMessage()
                .endsWith("tensor 'a' has data_offsets [0, 16] outside the 8 data bytes"));
        Path unknown = withHeader("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertTrue(assertThrows(IOException.class, () -> SafeTensors.read(unknown)).getMessage()
                .endsWith("tensor 'a': unknown dtype 'Q4'"));
        Path notJson = withHeader("{not json", 0);
        assertTrue(assertThrows(IOException.class, () -> SafeTensors.read(notJson)).getMessage()
                .contains("header is not valid JSON"));
    }

    @Test
    void rejectsHeaderLongerThanFile() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertEquals(p + ": header length 1000 does not fit a file of 16 bytes",
                assertThrows(IOException.class, () -> SafeTensors.read(p)).getMessage());
    }
}
