package dev.lora4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void aWriterThatFailsHalfwayLeavesTheOldFileAndNoTemporaries() throws IOException {
        Path target = dir.resolve("adapter_model.safetensors");
        AtomicFiles.write(target, new byte[] {1, 2, 3});
        assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            AtomicFiles.writeFully(ch, ByteBuffer.wrap(new byte[] {9, 9}));
            throw new IOException("disk full");
        }));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void replacesAnExistingFile() throws IOException {
        Path target = dir.resolve("sub/dir/config.json");
        AtomicFiles.write(target, new byte[] {1});
        AtomicFiles.write(target, new byte[] {4, 5});
        assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(target));
    }

    @Test
    void newFilesGetTheUsualPermissionsAndRewrittenOnesKeepTheirs() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        // The reference: a file any program creates here with rw-r--r-- under the same umask.
        Path reference = Files.createFile(dir.resolve("reference"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--")));
        Path fresh = dir.resolve("adapter_config.json");
        AtomicFiles.write(fresh, new byte[] {1});
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(fresh));

        Path referenceDir = Files.createDirectory(dir.resolve("reference-dir"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        Path assembling = AtomicFiles.temporaryDirectoryBeside(dir.resolve("checkpoint-10"));
        assertEquals(dir, assembling.getParent());
        assertEquals(Files.getPosixFilePermissions(referenceDir), Files.getPosixFilePermissions(assembling));

        Files.setPosixFilePermissions(fresh, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
        AtomicFiles.write(fresh, new byte[] {2});
        assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(fresh));
    }
}
