package dev.lora4j.models;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A checkpoint split into shards with transformers' model.safetensors.index.json loads like the single file. */
class ShardedWeightsTest {
    @TempDir
    Path tmp;

    private static Path tiny() throws Exception {
        return Path.of(ShardedWeightsTest.class.getResource("/fixtures/models/gpt2-tiny").toURI());
    }

    private Path shard(Path src) throws IOException {
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.Contents all = SafeTensors.read(src.resolve("model.safetensors"));
        Map<String, Tensor> a = new TreeMap<>(), b = new TreeMap<>();
        Map<String, String> map = new TreeMap<>();
        for (String n : all.names()) {
            boolean first = n.startsWith("h.0") || n.startsWith("wte");
            (first ? a : b).put(n, all.tensor(n));
            map.put(n, first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), a, Map.of("format", "pt"));
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), b, Map.of("format", "pt"));
        StringBuilder json = new StringBuilder("{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
        map.forEach((k, v) -> json.append('"').append(k).append("\": \"").append(v).append("\", "));
        json.setLength(json.length() - 2);
        Files.writeString(dir.resolve(HfModelDir.INDEX_FILE), json.append("}}").toString());
        return dir;
    }

    @Test
    void shardedCheckpointLoadsAndIsWrittenBackInShards() throws Exception {
        Path dir = shard(tiny());
        int[] ids = {1, 2, 3, 4, 5};
        Gpt2LmHeadModel single = Gpt2LmHeadModel.load(tiny());
        Gpt2LmHeadModel sharded = Gpt2LmHeadModel.load(dir);
        assertClose(single.forward(ids, 1, 5).copy(), sharded.forward(ids, 1, 5), 0f, 0f);

        Path out = tmp.resolve("out");
        AutoModel.writeWeightsLike(dir, sharded, "transformer.", out);
        assertEquals(Files.readString(dir.resolve(HfModelDir.INDEX_FILE)), Files.readString(out.resolve(HfModelDir.INDEX_FILE)));
        for (String f : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            assertEquals(SafeTensors.read(dir.resolve(f)).names(), SafeTensors.read(out.resolve(f)).names());
        }
    }

    @Test
    void aMissingShardIsAnErrorNamingIt() throws Exception {
        Path dir = shard(tiny());
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        IOException e = assertThrows(IOException.class, () -> Gpt2LmHeadModel.load(dir));
        assertEquals(true, e.getMessage().startsWith(dir.resolve(HfModelDir.INDEX_FILE) + ": shard 'model-00002-of-00002.safetensors'"),
                e.getMessage());
    }
}
