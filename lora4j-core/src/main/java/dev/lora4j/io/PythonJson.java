package dev.lora4j.io;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes JSON byte-for-byte as Python's {@code json.dumps(obj, indent=2, sort_keys=True)} does, which is how
 * PEFT writes adapter_config.json and transformers writes config.json: two-space indent, {@code ": "} and
 * {@code ","} separators, {@code {}} and {@code []} when empty, non-ASCII escaped as \\uXXXX, floats as Python's
 * repr (1e-05, 0.1, 8.0). Values are maps, lists, strings, numbers, booleans and null.
 */
public final class PythonJson {
    private PythonJson() {
    }

    /** The text of {@code value}. @throws IllegalArgumentException for a value of another type */
    public static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, "");
        return sb.toString();
    }

    /** One line, as {@code json.dumps(obj, sort_keys=True)}: {@code {"a": 1, "b": [1, 2]}} (for JSON Lines). */
    public static String dumpsLine(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, null);
        return sb.toString();
    }

    // indent == null writes one line with Python's default separators.
    private static void write(StringBuilder sb, Object v, String indent) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case Number n -> sb.append(floatRepr(n.doubleValue()));
            case String s -> string(sb, s);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                String inner = indent == null ? null : indent + "  ";
                sb.append(indent == null ? "{" : "{\n");
                boolean first = true;
                for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
                    sb.append(first ? "" : indent == null ? ", " : ",\n").append(inner == null ? "" : inner);
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), inner);
                    first = false;
                }
                sb.append(indent == null ? "" : "\n" + indent).append('}');
            }
            case List<?> list -> {
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                String inner = indent == null ? null : indent + "  ";
                sb.append(indent == null ? "[" : "[\n");
                for (int i = 0; i < list.size(); i++) {
                    sb.append(i == 0 ? "" : indent == null ? ", " : ",\n").append(inner == null ? "" : inner);
                    write(sb, list.get(i), inner);
                }
                sb.append(indent == null ? "" : "\n" + indent).append(']');
            }
            default -> throw new IllegalArgumentException("PythonJson: cannot write a " + v.getClass().getSimpleName());
        }
    }

    /** Python's repr of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exp10 = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exp10 >= -4 && exp10 < 16) {
            String plain = bd.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp10 < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp10));
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7f) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
