package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node in a model's module tree, as torch.nn.Module: named parameters, named children, train/eval mode, and
 * an explicit {@link #forward} and {@link #backward} pair.
 *
 * <p>Names follow Hugging Face: a child registered as "attn" under "h.0" gives parameters such as
 * {@code h.0.attn.c_attn.weight}. {@code forward} saves what {@code backward} needs; {@code backward} takes the
 * gradient of the output, adds into the gradients of its trainable parameters and returns the gradient of the
 * input. Tensors returned by forward and backward belong to the module and are overwritten by its next call.
 */
public abstract class Module {
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a parameter under {@code name}; returns it. */
    protected final Parameter registerParameter(String name, Tensor value) {
        return registerParameter(name, new Parameter(value));
    }

    /** Registers an existing parameter under {@code name}, sharing it (as loralib's layers share their base weight). */
    protected final Parameter registerParameter(String name, Parameter p) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(typeName() + ": name '" + name + "' is already registered");
        }
        parameters.put(name, p);
        return p;
    }

    /** Removes the parameter called {@code name}, if any; returns it or null. */
    protected final Parameter unregisterParameter(String name) {
        return parameters.remove(name);
    }

    /** Removes the child called {@code name}, if any; returns it or null. */
    protected final Module unregisterModule(String name) {
        return children.remove(name);
    }

    /** Registers a child module under {@code name}; returns it. */
    protected final <M extends Module> M registerModule(String name, M module) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(typeName() + ": name '" + name + "' is already registered");
        }
        children.put(name, module);
        return module;
    }

    /**
     * Swaps the child called {@code name} for {@code replacement}, keeping its position: how LoRA wraps a layer.
     *
     * @throws IllegalArgumentException if there is no such child
     */
    public void replaceChild(String name, Module replacement) {
        if (!children.containsKey(name)) {
            throw new IllegalArgumentException(typeName() + " has no child '" + name + "'; children are " + children.keySet());
        }
        children.put(name, replacement);
    }

    /**
     * Swaps the descendant at dotted path {@code path} (e.g. {@code transformer.h.0.attn.c_attn}) for
     * {@code replacement}.
     *
     * @throws IllegalArgumentException if there is no module at that path
     */
    public void replaceModule(String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? this : namedModules().get(path.substring(0, dot));
        if (parent == null) {
            throw new IllegalArgumentException(typeName() + " has no module '" + path.substring(0, dot) + "'");
        }
        parent.replaceChild(path.substring(dot + 1), replacement);
    }

    /**
     * The child called {@code name}, looked up at call time: layers call their replaceable children (those LoRA
     * may wrap) through this rather than through a field.
     */
    protected final Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalStateException(typeName() + " has no child '" + name + "'");
        }
        return m;
    }

    /** The embedding child called {@code name}, looked up at call time so a LoRA embedding can replace it. */
    protected final EmbeddingLookup lookup(String name) {
        if (child(name) instanceof EmbeddingLookup e) {
            return e;
        }
        throw new IllegalStateException(typeName() + ": child '" + name + "' is a " + child(name).typeName()
                + ", not an embedding");
    }

    /** Direct children in registration order. */
    public Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module's own parameters (not its children's). */
    public Map<String, Parameter> ownParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** Every parameter in the tree with its dotted name, depth first in registration order. */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }

    private void collectParameters(String prefix, Map<String, Parameter> out) {
        parameters.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, c) -> c.collectParameters(prefix + n + ".", out));
    }

    /** Every module in the tree with its dotted name; this module is "". */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String name, Map<String, Module> out) {
        out.put(name, this);
        children.forEach((n, c) -> c.collectModules(name.isEmpty() ? n : name + "." + n, out));
    }

    /** The parameters with {@code requiresGrad}, in tree order. */
    public List<Parameter> trainableParameters() {
        List<Parameter> out = new ArrayList<>();
        for (Parameter p : namedParameters().values()) {
            if (p.requiresGrad()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Sets training mode on this module and every descendant; dropout is active only in training. */
    public void train(boolean mode) {
        training = mode;
        children.values().forEach(c -> c.train(mode));
    }

    /** Same as {@code train(false)}. */
    public final void eval() {
        train(false);
    }

    /** True in training mode. */
    public boolean isTraining() {
        return training;
    }

    /** Zeroes the gradient of every parameter in the tree. */
    public void zeroGrad() {
        namedParameters().values().forEach(Parameter::zeroGrad);
    }

    /** Freezes ({@code false}) or unfreezes every parameter in the tree. */
    public void requiresGrad(boolean value) {
        namedParameters().values().forEach(p -> p.setRequiresGrad(value));
    }

    /**
     * Stores every frozen parameter (requiresGrad false) as {@code dtype}: bf16 or f16 halve the memory of a
     * frozen base, kernels widen it as they read; float32 widens it back. Trainable parameters stay float32.
     *
     * @return the number of parameters converted
     */
    public int storeFrozenAs(dev.lora4j.tensor.DType dtype) {
        int n = 0;
        for (Parameter p : namedParameters().values()) {
            if (!p.requiresGrad() && p.value().dtype() != dtype) {
                p.setValue(p.value().to(dtype));
                n++;
            }
        }
        return n;
    }

    /** Computes the output for {@code x} and saves what {@link #backward} needs. */
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException(typeName() + " has no single-input forward");
    }

    /** Given d(loss)/d(output), accumulates parameter gradients and returns d(loss)/d(input). */
    public Tensor backward(Tensor dout) {
        throw new UnsupportedOperationException(typeName() + " has no single-input backward");
    }

    /**
     * Backward for a caller that needs no gradient for this module's input: accumulates the same parameter
     * gradients as {@link #backward} and may skip the rest, as autograd skips the inputs that do not require
     * grad. A frozen base layer then computes nothing, a container stops below its last trainable child, and
     * a model whose embeddings are frozen runs no backward through the layers under its lowest trainable one.
     * The default runs {@link #backward} when any parameter in the tree is trainable, and nothing otherwise.
     */
    public void backwardParametersOnly(Tensor dout) {
        if (hasTrainableParameters()) {
            backward(dout);
        }
    }

    /**
     * {@link #backwardParametersOnly} through modules that were applied one after another, first applied first:
     * full backward down to the lowest one with trainable parameters, parameters only there, nothing below.
     */
    protected static void backwardParametersOnly(Tensor dout, Module... appliedInOrder) {
        int lowest = 0;
        while (lowest < appliedInOrder.length && !appliedInOrder[lowest].hasTrainableParameters()) {
            lowest++;
        }
        if (lowest == appliedInOrder.length) {
            return;
        }
        Tensor d = dout;
        for (int i = appliedInOrder.length - 1; i > lowest; i--) {
            d = appliedInOrder[i].backward(d);
        }
        appliedInOrder[lowest].backwardParametersOnly(d);
    }

    /** Whether any parameter of this module or its descendants requires a gradient. */
    public boolean hasTrainableParameters() {
        for (Parameter p : parameters.values()) {
            if (p.requiresGrad()) {
                return true;
            }
        }
        for (Module c : children.values()) {
            if (c.hasTrainableParameters()) {
                return true;
            }
        }
        return false;
    }

    /**
     * A new module of the same type and sizes, with its own parameters (their values need not match): what
     * PEFT's modules_to_save deep-copies a module into before copying the values over.
     *
     * @throws IllegalArgumentException if this type of module cannot be copied
     */
    public Module newLike() {
        throw new IllegalArgumentException("cannot copy a " + typeName() + ": it does not implement Module.newLike()");
    }

    /** The class name as a module tree prints it, e.g. {@code Linear}. */
    public String typeName() {
        return getClass().getSimpleName();
    }

    /** The constructor arguments shown in the tree, e.g. {@code in_features=768, out_features=2304, bias=True}. */
    protected String extraRepr() {
        return "";
    }

    /** The module tree in torch's print format. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(typeName()).append('(');
        if (children.isEmpty()) {
            return sb.append(extraRepr()).append(')').toString();
        }
        if (!extraRepr().isEmpty()) {
            sb.append(extraRepr());
        }
        sb.append('\n');
        children.forEach((n, c) -> sb.append("  (").append(n).append("): ")
                .append(c.toString().replace("\n", "\n  ")).append('\n'));
        return sb.append(')').toString();
    }
}
