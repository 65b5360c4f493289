package dev.lora4j.models.bert;

import dev.lora4j.nn.Module;

/**
 * A module of the BERT family that prints under its family's class name, as transformers' module tree does:
 * BertLayer in a BERT, RobertaLayer in a RoBERTa, for the same code.
 */
abstract class FamilyModule extends Module {
    private final String typeName;

    FamilyModule(BertConfig config, String suffix) {
        typeName = config.classPrefix() + suffix;
    }

    @Override
    public String typeName() {
        return typeName;
    }
}
