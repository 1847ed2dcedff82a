package io.resttf.training.data;

import io.resttf.training.data.FashionMnist;
import java.util.List;

/** A split of Fashion-MNIST (Debian's dataset-fashion-mnist IDX files), optionally its first {@code limit} images. */
public final class FashionMnistDataset implements Dataset {
  /** The official class names, in label order. */
  public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
      "Shirt", "Sneaker", "Bag", "Ankle boot");

  private final FashionMnist data;
  private final FashionMnist.Split split;
  private final int size;

  public FashionMnistDataset(FashionMnist data, FashionMnist.Split split, int limit) {
    this.data = data;
    this.split = split;
    this.size = limit > 0 ? Math.min(limit, data.count()) : data.count();
  }

  /** Loads {@code split} from the Debian package's directory. */
  public static FashionMnistDataset load(FashionMnist.Split split, int limit) {
    return new FashionMnistDataset(FashionMnist.load(split), split, limit);
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public List<String> classes() {
    return CLASSES;
  }

  @Override
  public int label(int i) {
    return data.label(i);
  }

  @Override
  public Image image(int i) {
    return new Image(FashionMnist.SIDE, FashionMnist.SIDE, 1, data.image(i));
  }

  @Override
  public String describe(int i) {
    return "fashion-mnist " + split.name().toLowerCase() + "[" + i + "]";
  }
}
