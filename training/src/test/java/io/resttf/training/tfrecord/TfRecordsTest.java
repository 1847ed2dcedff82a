package io.resttf.training.tfrecord;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.EagerSession;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.data.AnonymousIterator;
import org.tensorflow.op.data.IteratorGetNext;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * TFRecord framing against TensorFlow's own ops, both ways: files this writer makes are read by TF's
 * TFRecordDataset (the V1 op, through opBuilder: TF Java's V2 wrapper fails to build eagerly), and files TF's
 * DatasetToTFRecord writes are read here; damaged records are refused naming file and record.
 */
class TfRecordsTest {
  /** Records of assorted sizes, empty and binary included. */
  static List<byte[]> records() {
    List<byte[]> out = new ArrayList<>();
    Random rng = new Random(3);
    for (int n : new int[] {0, 1, 7, 100, 4096, 70000}) {
      byte[] b = new byte[n];
      rng.nextBytes(b);
      out.add(b);
    }
    return out;
  }

  @Test
  void tensorflowReadsWhatThisWrites(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("ours.tfrecord");
    try (TfRecords.Writer w = new TfRecords.Writer(file)) {
      for (byte[] r : records()) w.write(r);
    }
    List<byte[]> got = readWithTensorflow(file);
    List<byte[]> want = records();
    assertEquals(want.size(), got.size());
    for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), "record " + i);
  }

  @Test
  void thisReadsWhatTensorflowWrites(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("tf.tfrecord");
    List<byte[]> want = records();
    try (EagerSession s = EagerSession.create()) {
      Ops tf = Ops.create(s);
      try (TString values = TString.tensorOfBytes(NdArrays.vectorOfObjects(want.toArray(new byte[0][])))) {
        Operand<TString> c = tf.constantOf(values);
        var ds = tf.data.tensorSliceDataset(List.of(c), List.of(Shape.scalar()));
        tf.data.datasetToTfRecord(ds, tf.constant(file.toString()), tf.constant(""));
      }
    }
    List<byte[]> got = new ArrayList<>();
    try (TfRecords.Reader r = new TfRecords.Reader(file)) {
      while (r.hasNext()) got.add(r.next());
    }
    assertEquals(want.size(), got.size());
    for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), "record " + i);
  }

  @Test
  void damagedRecordsAreRefusedWithFileAndIndex(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("d.tfrecord");
    try (TfRecords.Writer w = new TfRecords.Writer(file)) {
      for (byte[] r : records()) w.write(r);
    }
    byte[] bytes = Files.readAllBytes(file);
    // record 0 is empty (16 bytes); record 1 holds one byte at offset 16 + 12
    byte[] data = bytes.clone();
    data[16 + 12] ^= 0x40;
    assertEquals(tmp.resolve("a.tfrecord") + ": record 1: corrupted record data (CRC mismatch)", readAll(tmp.resolve("a.tfrecord"), data));
    byte[] length = bytes.clone();
    length[16] ^= 0x01;
    assertEquals(tmp.resolve("b.tfrecord") + ": record 1: corrupted record length (CRC mismatch)",
        readAll(tmp.resolve("b.tfrecord"), length));
    byte[] cut = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    assertTrue(readAll(tmp.resolve("c.tfrecord"), cut).endsWith(": record 5: truncated record (no data CRC)"));
    assertEquals(tmp.resolve("none") + ": no such file",
        assertThrows(BadInputException.class, () -> new TfRecords.Reader(tmp.resolve("none"))).getMessage());
  }

  static String readAll(Path file, byte[] bytes) throws IOException {
    Files.write(file, bytes);
    try (TfRecords.Reader r = new TfRecords.Reader(file)) {
      return assertThrows(BadInputException.class, () -> {
        while (r.hasNext()) r.next();
      }).getMessage();
    }
  }

  @Test
  void imageFoldersBecomeShardsOfExamples(@TempDir Path tmp) throws IOException {
    Path folder = tmp.resolve("images");
    Random rng = new Random(5);
    for (String cls : List.of("cat", "dog")) {
      Files.createDirectories(folder.resolve(cls));
      for (int i = 0; i < 5; i++) {
        BufferedImage img = new BufferedImage(20 + i, 16, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, rng.nextInt());
        ImageIO.write(img, "png", folder.resolve(cls).resolve(i + ".png").toFile());
      }
    }
    Path out = tmp.resolve("records");
    long[] progress = {0};
    TfRecordDatasets.Written w = TfRecordDatasets.fromImageFolder(folder, out, 3, 1, 40_000_000L, false, d -> progress[0] = d);
    assertEquals(10, progress[0]);
    assertEquals(List.of("cat", "dog"), w.classes());
    assertEquals(List.of("cat", "dog"), Files.readAllLines(out.resolve("classes.txt")));
    List<ImageExample> all = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      Path shard = out.resolve(String.format("train-%05d-of-00003.tfrecord", s));
      for (byte[] r : readWithTensorflow(shard)) all.add(ImageExample.parse(r, shard.toString()));
      TfRecordDatasets.Summary sum = TfRecordDatasets.inspect(shard);
      assertEquals("bytes x1", sum.features().get(ImageExample.ENCODED));
      assertEquals("int64 x1", sum.features().get(ImageExample.LABEL));
    }
    assertEquals(10, all.size());
    for (ImageExample e : all) {
      assertEquals("png", e.format());
      assertEquals(List.of("cat", "dog").get((int) e.label()), e.text());
      assertEquals(16, e.height());
      BufferedImage decoded = ImageIO.read(new java.io.ByteArrayInputStream(e.encoded()));
      assertEquals(e.width(), decoded.getWidth(), "the file's bytes, unchanged");
    }
    // a broken image: refused before anything appears
    Files.writeString(folder.resolve("dog").resolve("broken.png"), "not a png");
    Path out2 = tmp.resolve("records2");
    String m = assertThrows(BadInputException.class,
        () -> TfRecordDatasets.fromImageFolder(folder, out2, 2, 1, 40_000_000L, false, d -> { })).getMessage();
    assertTrue(m.contains("broken.png"), m);
    assertFalse(Files.exists(out2), "nothing half-written");
    assertTrue(Files.list(tmp).noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")), "no temporary left");
  }

  /** Every record of {@code file} as TensorFlow's V1 TFRecordDataset op reads it, in eager mode. */
  static List<byte[]> readWithTensorflow(Path file) {
    try (EagerSession s = EagerSession.create()) {
      Ops tf = Ops.create(s);
      try (TString names = TString.vectorOf(file.toString())) {
        Operation ds = s.opBuilder("TFRecordDataset", "records", tf.scope()).addInput(tf.constantOf(names).asOutput())
            .addInput(tf.constant("").asOutput()).addInput(tf.constant(0L).asOutput()).build();
        return iterate(tf, ds);
      }
    }
  }

  /** The dataset's elements (scalar strings) through an iterator, until TF says the end. */
  private static List<byte[]> iterate(Ops tf, Operation ds) {
    List<byte[]> out = new ArrayList<>();
    {
      List<Class<? extends TType>> types = List.of(TString.class);
      List<Shape> shapes = List.of(Shape.scalar());
      AnonymousIterator it = tf.data.anonymousIterator(types, shapes);
      tf.data.makeIterator(ds.output(0), it.handle());
      while (true) {
        try {
          IteratorGetNext next = tf.data.iteratorGetNext(it.handle(), types, shapes);
          @SuppressWarnings("unchecked")
          Operand<TString> rec = (Operand<TString>) next.components().get(0);
          out.add(rec.asTensor().asBytes().getObject());
        } catch (TFOutOfRangeException end) {
          return out;
        }
      }
    }
  }
}
