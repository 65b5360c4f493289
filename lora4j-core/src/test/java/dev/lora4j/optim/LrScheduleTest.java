package dev.lora4j.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Schedules against the closed forms of transformers' get_*_schedule_with_warmup. */
class LrScheduleTest {
    @Test
    void linearWarmupThenLinearDecay() {
        LrSchedule s = LrSchedule.linearWarmupDecay(2e-4f, 500, 2500);
        assertEquals(0f, s.learningRate(0));
        assertEquals(2e-4f * 250 / 500, s.learningRate(250), 1e-12f);
        assertEquals(2e-4f, s.learningRate(500), 1e-12f);
        assertEquals(2e-4f * (2500 - 1500) / 2000f, s.learningRate(1500), 1e-12f);
        assertEquals(0f, s.learningRate(2500));
        assertEquals(0f, s.learningRate(3000));
    }

    @Test
    void cosineReachesHalfAtMidpoint() {
        LrSchedule s = LrSchedule.cosineWarmup(1f, 10, 110);
        assertEquals(0.5f, s.learningRate(5), 1e-7f);
        assertEquals(1f, s.learningRate(10), 1e-7f);
        assertEquals(0.5f, s.learningRate(60), 1e-6f);
        assertEquals((float) (0.5 * (1 + Math.cos(Math.PI * 0.25))), s.learningRate(35), 1e-6f);
        assertEquals(0f, s.learningRate(110), 1e-7f);
    }

    @Test
    void unknownNameIsAClearError() {
        var e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.named("step", 1f, 0, 10));
        assertEquals("schedule 'step' is unknown, expected constant, linear or cosine", e.getMessage());
    }
}
