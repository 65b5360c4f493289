package dev.lora4j.testing;

import dev.lora4j.io.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Loads PyTorch reference fixtures written by scripts/fixtures/make_fixtures.py. */
public final class Fixtures {
    private Fixtures() {
    }

    /** The fixture {@code fixtures/<name>.safetensors} from the test classpath, e.g. {@code "nn/linear"}. */
    public static SafeTensors.Contents load(String name) {
        String resource = "/fixtures/" + name + ".safetensors";
        URL url = Fixtures.class.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("missing fixture " + resource + "; run /usr/bin/python3 scripts/fixtures/make_fixtures.py");
        }
        try {
            return SafeTensors.read(Path.of(url.toURI()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
