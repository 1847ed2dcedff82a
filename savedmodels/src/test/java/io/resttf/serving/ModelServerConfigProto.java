package io.resttf.serving;

import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * TF Serving's ModelServerConfig message (the subset in {@code src/test/proto/model_server_config.proto}),
 * compiled by protoc from Maven ({@code target/protoc/protoc-linux-x86_64.exe}, copied there by the pom) into a
 * descriptor set, and a strict protobuf text-format parser on it: what TF Serving does with models.config.
 */
final class ModelServerConfigProto {
  private ModelServerConfigProto() {}

  static final Path PROTO_DIR = Path.of("src/test/proto");
  static final Path PROTOC = Path.of("target/protoc/protoc-linux-x86_64.exe");

  private static Descriptors.Descriptor descriptor;

  static synchronized Descriptors.Descriptor modelServerConfig() throws IOException, InterruptedException {
    if (descriptor != null) return descriptor;
    if (!Files.isRegularFile(PROTOC)) throw new IllegalStateException(PROTOC + " is missing: mvn generate-test-resources copies it");
    PROTOC.toFile().setExecutable(true);
    Path out = Files.createDirectories(Path.of("target/proto")).resolve("model_server_config.desc");
    Process p = new ProcessBuilder(PROTOC.toAbsolutePath().toString(), "--proto_path=" + PROTO_DIR, "--descriptor_set_out=" + out,
        "model_server_config.proto").redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IllegalStateException("protoc failed:\n" + log);
    DescriptorProtos.FileDescriptorSet set = DescriptorProtos.FileDescriptorSet.parseFrom(Files.readAllBytes(out));
    Descriptors.FileDescriptor file;
    try {
      file = Descriptors.FileDescriptor.buildFrom(set.getFile(0), new Descriptors.FileDescriptor[0]);
    } catch (Descriptors.DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
    descriptor = file.findMessageTypeByName("ModelServerConfig");
    return descriptor;
  }

  /** Parses models.config text as TF Serving does; an unknown field or a bad value throws ParseException. */
  static DynamicMessage parse(String text) throws IOException, InterruptedException {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(modelServerConfig());
    TextFormat.getParser().merge(text, b);
    return b.build();
  }

  /** The model_config_list's configs. */
  @SuppressWarnings("unchecked")
  static List<DynamicMessage> configs(DynamicMessage config) {
    Descriptors.Descriptor d = config.getDescriptorForType();
    DynamicMessage list = (DynamicMessage) config.getField(d.findFieldByName("model_config_list"));
    return (List<DynamicMessage>) list.getField(list.getDescriptorForType().findFieldByName("config"));
  }

  static Object field(DynamicMessage m, String name) {
    return m.getField(m.getDescriptorForType().findFieldByName(name));
  }
}
