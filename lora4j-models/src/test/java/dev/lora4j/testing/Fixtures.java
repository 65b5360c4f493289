package dev.lora4j.testing;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The PyTorch reference files under src/test/resources/fixtures (written by scripts/fixtures/make_fixtures.py). */
public final class Fixtures {
    private Fixtures() {
    }

    /** A fixture file or directory, e.g. {@code models/bert-tiny}. */
    public static Path path(String name) {
        var url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new IllegalArgumentException("no test fixture " + name + "; regenerate with scripts/fixtures/make_fixtures.py");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fixture under fixtures/models. */
    public static Path model(String name) {
        return path("models/" + name);
    }
}
