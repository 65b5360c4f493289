# Sourced by ./lora4j and scripts/*: finds JDK 25+ and Maven, and sets JAVA_HOME, JAVA and MAVEN_OPTS.
# Order: $JAVA_HOME if it is 25 or newer, then Temurin 25 at its Debian path, then `java` on PATH.

lora4j_java_major() {
    "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

lora4j_find_jdk() {
    local candidate
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
        [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
        local major
        major=$(lora4j_java_major "$candidate/bin/java")
        if [ -n "$major" ] && [ "$major" -ge 25 ]; then
            export JAVA_HOME="$candidate"
            JAVA="$candidate/bin/java"
            # Maven's own libraries call sun.misc.Unsafe; on JDK 25 that prints warnings on every build.
            export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
            return 0
        fi
    done
    echo "lora4j: needs a JDK 25 or newer (the Vector API and FFM features it uses are not in older ones)." >&2
    echo "  Set JAVA_HOME to a JDK 25+, or install Eclipse Temurin 25 (e.g. the temurin-25-jdk package from Adoptium's apt repository)." >&2
    exit 2
}

lora4j_require_maven() {
    if ! command -v mvn >/dev/null 2>&1; then
        echo "lora4j: Maven (mvn) is needed to build; install it (e.g. apt-get install maven)." >&2
        exit 2
    fi
}

# JVM flags every lora4j process needs: the Vector API is an incubator module.
LORA4J_JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxRAMPercentage=75)
