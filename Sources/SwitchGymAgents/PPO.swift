// PPO: see PPO.swift
