import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Allocation churn for a garbage-collected heap: short-lived arrays, a growing map, strings. */
public class Alloc {
  public static void main(String[] args) {
    Map<String, int[]> keep = new HashMap<>();
    List<byte[]> young = new ArrayList<>();
    long sum = 0;
    for (int i = 0; i < 300000; i++) {
      int[] x = new int[8 + i % 32];
      x[0] = i;
      sum += x[0];
      if (i % 100 == 0) keep.put("k" + i, x);
      young.add(new byte[64]);
      if (young.size() > 1000) young.clear();
    }
    System.out.println("sum " + sum + " kept " + keep.size());
  }
}
